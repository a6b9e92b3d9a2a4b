"""Replication of signed per-member logs between peers: the pure core.

Modules, one concept each:

* `frontier`  - what a node holds (one head per author), what to fetch from a peer, the state digest;
* `validate`  - the receipt rules: one typed verdict per received entry (`classify`);
* `evidence`  - fork evidence: two entries of one author that cannot both belong to one log;
* `reconcile` - `LogSet`, the in-memory per-node state machine and reference model for the LMDB store;
* `sim`       - a seeded, deterministic simulation of several nodes over a faulty network.

Nothing here does I/O: the store and the gRPC transport call in, and are tested against `LogSet`.
"""
