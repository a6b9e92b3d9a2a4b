"""Replication of signed per-member logs between peers: the pure core.

Modules, one concept each:

* `frontier`  - what a node holds (one head per author), what to fetch from a peer, the state digest;
* `validate`  - the receipt rules: one typed verdict per received entry (`classify`);
* `evidence`  - fork evidence: two entries of one author that cannot both belong to one log;
* `reconcile` - `LogSet`, the in-memory per-node state machine and reference model for the LMDB store;
* `sim`       - a seeded, deterministic simulation of several nodes over a faulty network.

Nothing here does I/O: the store (`node.ledger.replica`) and the gRPC transport (`node.network.replicator`)
call in, and are tested against `LogSet`. May import `node.core`, `node.membership`, `node.dueprocess` and
`node.provenance`.
"""
