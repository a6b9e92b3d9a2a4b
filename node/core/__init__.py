"""The pure core: what is signed and how, and the values every layer speaks.

Canonical encoding (`canonical`), Ed25519 keys (`keys`), signed hash-chained entries (`entry`), Merkle trees and
proofs (`merkle`), hash records (`records`), signal types (`signals`), the label taxonomy (`taxonomy`),
retractions (`retraction`) and the one error tree (`errors`). No I/O, no clock; imports nothing else of `node`.
"""
