"""Talking to peers: mutual-TLS credentials pinned to the roster (`tls`), the peer directory, channels and
roster exchange (`peers`), the replicator that keeps this node's logs in step with its peers' (`replicator`),
and a new node's first sync from one peer (`bootstrap`). May import `node.api` and below.
"""
