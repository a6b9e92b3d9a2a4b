"""hashnode: the node software of a federated hash-sharing consortium.

The package is layered by directory, lowest first. A module may import from its own package and from packages
of lower layers, never from a higher layer or a sibling of its own layer (tests/test_architecture.py checks
this from the code's own imports, and that there are no import cycles):

 1. `core`         pure: canonical bytes, keys and signatures, entries, Merkle proofs, records, signal types,
                   the label taxonomy, the error tree
 2. `index`        pure: the PDQ near-duplicate index
    `hashing`      hashing media files locally (PDQ, MD5, SHA-256)
    `interchange`  the file formats contributions are imported from and exported to
    `membership`   pure: members, signed rosters, join requests, TLS identities and whom to trust
 3. `dueprocess`   pure: opinions, appeals, decisions, policy, a record's history, reports, statements of
                   reasons (the DSA Transparency Database's rules, the user's page and its language packs)
 4. `provenance`   pure: provenance bundles and their offline verification
 5. `replication`  pure: receipt rules, frontiers, fork evidence, the reference model of a replica
 6. `storage`      LMDB: the store, the match log, index snapshots, the offline integrity check
 7. `ledger`       the node's state: submit, apply, match and explain over the store and index; replicas,
                   the roster chain, revocation, transparency reports, statements of reasons, export
 8. `api`          the wire: generated protobuf code and its conversion to and from domain types
 9. `network`      talking to peers: TLS credentials, peer channels, the replicator, bootstrap
10. `runtime`      a node's configuration and its parts opened and wired together
11. `server`       the gRPC services, interceptors (admission, authorization, errors, metrics, health) and
                   listeners
12. `cli`          the `hashnode` command
    `adapters`     other tools' plug-ins (python-threatexchange)

The demos (`demo/`) and the test harness (`testkit/`) live beside the package, not in the wheel.
"""

__version__ = "0.1.0"
