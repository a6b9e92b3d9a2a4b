"""The node's state and its operations: the pure core applied to storage.

`ledger` submits, applies, matches and explains over the store and the PDQ index; `standing` derives a record's
status from its history; `replica` applies peers' entries under the replication rules; `consortium` keeps the
verified roster chain; `revocation` applies a roster's revocations; `transparency` builds reports; `export`
reads records out. No network and no protobuf: may import `node.storage` and every layer below it.
"""
