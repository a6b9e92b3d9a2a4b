"""Adapters that let other trust-and-safety tools talk to a hashnode node (each needs its own extra)."""
