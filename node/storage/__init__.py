"""LMDB storage: the store of entries, records and lookup tables (`store`; `_rowscan` reads matched rows in C
where it is built), the local match log (`matchlog`),
PDQ index snapshots (`pdq_snapshot`) and the offline integrity check of a stopped node's store (`integrity`).

The only layer that opens files of the node's data directory. May import the pure layers below it.
"""
