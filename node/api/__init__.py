"""The wire: generated protobuf code (`gen/`) and its conversion to and from domain types (`convert`,
`peer_wire`, `roster_wire`; `match_wire` encodes match responses straight to bytes, in C where `_wire` is
built). Generated code goes no lower than this layer; the services that use it are `node.server`, its clients
`node.network`, `node.cli` and `node.adapters`. May import `node.ledger` and below.
"""

# Largest gRPC message either side accepts, server and CLI client alike: a full Submit batch of 10,000 records
# fits with room to spare.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
