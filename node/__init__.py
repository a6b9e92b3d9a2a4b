"""hashnode: the node software of a federated hash-sharing consortium."""

__version__ = "0.1.0"
