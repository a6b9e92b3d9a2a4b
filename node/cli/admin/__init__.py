"""`hashnode admin ...`: stewards' roster commands (on files), operators' node commands (Admin RPCs)."""

from __future__ import annotations

from node.cli.commands import Command

# Stewards, on roster files; then operators, on a node.
SUBCOMMANDS: tuple[Command, ...] = (
    Command(
        "admit", "node.cli.admin.admit_cmd", "prepare the next roster version admitting the member of a join request"
    ),
    Command("revoke", "node.cli.admin.revoke_cmd", "prepare the next roster version revoking a member (final)"),
    Command(
        "rotate-key",
        "node.cli.admin.rotate_key_cmd",
        "prepare the next roster version adding a member's new log key, the old one valid for an overlap",
    ),
    Command(
        "rotate-tls",
        "node.cli.admin.rotate_tls_cmd",
        "prepare the next roster version adding a member's new TLS certificate, the old one valid for an overlap",
    ),
    Command(
        "due-process",
        "node.cli.admin.due_process_cmd",
        "prepare the next roster version with the consortium's due-process policy (window, quorums, quarantine)",
    ),
    Command(
        "set-endpoints",
        "node.cli.admin.set_endpoints_cmd",
        "prepare the next roster version changing where a member's node is reached (every node dials it there)",
    ),
    Command(
        "rule",
        "node.cli.admin.rule_cmd",
        "prepare a stewards' ruling on an appeal or dispute case past its decision window (signed offline, k of n)",
    ),
    Command(
        "sign",
        "node.cli.admin.sign_cmd",
        "add your steward signature to a roster file (a draft or a partly signed version) or a ruling file",
    ),
    Command("merge", "node.cli.admin.merge_cmd", "merge the signatures of several copies of the same roster version"),
    Command(
        "show",
        "node.cli.admin.show_cmd",
        "show a roster file: members, who signed it against the thresholds, changes from the current one",
    ),
    Command(
        "publish",
        "node.cli.admin.publish_cmd",
        "publish a signed roster version to a node, which verifies it, applies it and passes it to its peers",
    ),
    Command(
        "publish-ruling",
        "node.cli.admin.publish_ruling_cmd",
        "publish a stewards' signed ruling through a node: it checks it, signs it into its log, it replicates",
    ),
    Command(
        "roster",
        "node.cli.admin.roster_cmd",
        "show the roster a node trusts now (and save it, e.g. as the CURRENT of the next version)",
    ),
    Command(
        "peers", "node.cli.admin.peers_cmd", "list a node's peers and their replication status, or add or remove one"
    ),
    Command("sync", "node.cli.admin.sync_cmd", "start a replication pass and a roster exchange with every peer now"),
    Command(
        "evidence",
        "node.cli.admin.evidence_cmd",
        "list the fork evidence a node holds: members that signed two entries for one position of their log",
    ),
    Command(
        "purge-member",
        "node.cli.admin.purge_member_cmd",
        "on this node, suspend every record of a revoked member (carrying out a steward decision)",
    ),
    Command(
        "backup",
        "node.cli.admin.backup_cmd",
        "copy a serving node's store (compacted, consistent) into an empty directory on the node's host",
    ),
    Command(
        "restore",
        "node.cli.admin.restore_cmd",
        "restore a backup into a node's empty data directory (run while the node is stopped)",
    ),
    Command(
        "policy",
        "node.cli.admin.policy_cmd",
        "show a node's policy (thresholds, limits, roster); set in its config and the roster",
    ),
)
