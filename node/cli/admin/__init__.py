"""`hashnode admin ...`: stewards' roster commands (on files), operators' node commands (Admin RPCs)."""

from __future__ import annotations

from types import ModuleType

from node.cli.admin import (
    admit_cmd,
    backup_cmd,
    evidence_cmd,
    merge_cmd,
    peers_cmd,
    policy_cmd,
    publish_cmd,
    purge_member_cmd,
    restore_cmd,
    revoke_cmd,
    roster_cmd,
    rotate_key_cmd,
    rotate_tls_cmd,
    show_cmd,
    sign_cmd,
    sync_cmd,
)

# Stewards, on roster files; then operators, on a node.
SUBCOMMANDS: tuple[ModuleType, ...] = (
    admit_cmd,
    revoke_cmd,
    rotate_key_cmd,
    rotate_tls_cmd,
    sign_cmd,
    merge_cmd,
    show_cmd,
    publish_cmd,
    roster_cmd,
    peers_cmd,
    sync_cmd,
    evidence_cmd,
    purge_member_cmd,
    backup_cmd,
    restore_cmd,
    policy_cmd,
)
