"""Provenance bundles: why a hash is in the database, assembled from signed entries and verifiable offline by
anyone (`bundle`). Pure; may import `node.core`, `node.membership` and `node.dueprocess`.
"""
