"""Adapters that let other trust-and-safety tools talk to a hashnode node (each needs its own extra).
The top layer, beside `node.cli`: may import `node.api` and below.
"""
