"""The TLS name every member's node certificate carries, whatever host the node runs on.

Host names do not identify members (a certificate's fingerprint, pinned by the roster, does): peers and clients
ask for this fixed name. Its own module so that clients that only need the name (the CLI, the threatexchange
adapter) do not load the certificate code.
"""

PEER_TLS_NAME = "hashnode.peer"
