"""The gRPC edge of a node: generated code (`gen/`), conversion to domain types, services and the server."""

# Largest gRPC message either side accepts, server and CLI client alike: a full Submit batch of 10,000 records
# fits with room to spare.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
