"""The gRPC server of a node: the client, peer, membership and admin services, the interceptors every call
passes (authorization, the error-to-status table, metrics, health, the peer certificate check) and the
listeners (`server`). May import `node.runtime` and below.
"""
