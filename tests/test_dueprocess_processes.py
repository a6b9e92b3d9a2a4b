"""Due process across three `hashnode serve` processes (the example consortium over mutual TLS), driven by the
`hashnode` commands its operators, moderators and stewards would run:

- the stewards set the consortium's due-process policy in a signed roster version; every node applies it;
- a stewards' ruling, signed offline by two stewards after the decision window and published through a node
  that is neither the contributor nor a steward, overturns the record on every node;
- the same appeal filed twice returns the first entry; `explain` takes the query id a notice carries;
- false-positive reports by k members quarantine the hash on every node and open a case in the contributor's
  `hashnode cases`, which its decision closes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS

from tests.test_dueprocess_e2e import PDQ, Consortium, consortium, eventually

__all__ = ["consortium"]  # the fixture, imported for pytest
pytestmark = pytest.mark.slow
WINDOW_S = 2.0  # the decision window of the test consortium


def publish_policy(consortium: Consortium, tmp_path: Path, **options: object) -> Path:
    """Roster version 2 of the example consortium with a due-process policy, signed by two of its three
    stewards and published to platform-a, which passes it to its peers; returns the roster file."""
    draft = tmp_path / "roster-v2.json"
    flags = [x for k, v in options.items() for x in (f"--{k.replace('_', '-')}", v)]
    consortium.run("admin", "due-process", "--roster", EXAMPLE_KEYS / "roster.json", "--out", draft, *flags)
    for steward in ("steward-1", "steward-2"):
        consortium.run("admin", "sign", draft, "--key", EXAMPLE_KEYS / f"{steward}.key")
    consortium.run("admin", "publish", draft, *consortium.admin("platform-a"))

    def everyone_trusts_it() -> bool:
        versions = [
            json.loads(consortium.run("admin", "roster", *consortium.admin(m), "--json"))["version"]
            for m in consortium.nodes
        ]
        return versions == [2, 2, 2]

    eventually(everyone_trusts_it, "every node to trust roster version 2")
    return draft


def contribute(consortium: Consortium) -> str:
    submitted = consortium.run(
        "submit", *consortium.client("platform-a"), "--hash", PDQ, "--quality", "100",
        "--label", "tvec.propaganda", "--json",
    )
    [rid] = json.loads(submitted)["record_ids"]
    for member in consortium.nodes:
        eventually(lambda m=member: consortium.matches(m) == [rid], f"the record to reach {member}")  # type: ignore[misc]
    return str(rid)


def test_a_stewards_ruling_after_the_window_overturns_on_every_node(
    consortium: Consortium, tmp_path: Path
) -> None:
    roster = publish_policy(consortium, tmp_path, decision_window_hours=WINDOW_S / 3600, steward_quorum=2)
    rid = contribute(consortium)
    appeal = json.loads(consortium.run("appeal", rid, "--case", "CASE-9", *consortium.client("platform-b"), "--json"))

    def c_holds_the_appeal() -> bool:
        bundle = consortium.bundle("platform-c", rid, tmp_path / "bundle.json")
        return [r["kind"] for r in bundle.get("related", [])] == ["appeal"]  # type: ignore[union-attr]

    eventually(c_holds_the_appeal, "the appeal to reach platform-c")
    time.sleep(WINDOW_S)  # the contributor stays silent past the window

    ruling = tmp_path / "ruling.json"
    consortium.run(
        "admin", "rule", "--roster", roster, "--record", rid, "--appeal", appeal["entry_id"],
        "--outcome", "overturned", "--reason", "no answer from the contributor", "--out", ruling,
    )
    signed = consortium.run("admin", "sign", ruling, "--key", EXAMPLE_KEYS / "steward-1.key", "--roster", roster)
    assert "stewards: 1 of 2 needed (steward-1 signed, steward-2 missing, steward-3 missing)" in signed
    early = consortium.run("admin", "publish-ruling", ruling, *consortium.admin("platform-c"), expect=1)
    assert early == ""
    signed = consortium.run("admin", "sign", ruling, "--key", EXAMPLE_KEYS / "steward-3.key", "--roster", roster)
    assert "ready to publish" in signed
    published = json.loads(
        consortium.run("admin", "publish-ruling", ruling, *consortium.admin("platform-c"), "--json")
    )
    assert (published["status"], published["signed_by"]) == ("overturned", ["steward-1", "steward-3"])
    for member in consortium.nodes:
        eventually(lambda m=member: consortium.matches(m) == [], f"{member} to stop matching")  # type: ignore[misc]
    again = json.loads(
        consortium.run("admin", "publish-ruling", ruling, *consortium.admin("platform-a"), "--json")
    )
    assert (again["existing"], again["entry_id"]) == (True, published["entry_id"])

    bundle_file = tmp_path / "final.json"
    consortium.bundle("platform-b", rid, bundle_file)
    chain = ("--roster", EXAMPLE_KEYS / "roster.json", "--roster", roster)  # the root, then version 2
    verified = json.loads(consortium.run("verify", bundle_file, *chain, "--json"))
    assert verified["status"] == "overturned"
    assert [(e["kind"], e["ruling"]) for e in verified["history"]] == [("appeal", ""), ("decision", "effective")]


def test_a_repeated_appeal_returns_the_first_and_explain_takes_a_query_id(consortium: Consortium) -> None:
    rid = contribute(consortium)
    b = consortium.client("platform-b")
    matched = json.loads(consortium.run("match", *b, PDQ, "--json"))
    query_id = matched[0]["query_id"]
    first = json.loads(consortium.run("appeal", rid, "--case", "CASE-10", *b, "--json"))
    again = json.loads(consortium.run("appeal", rid, "--case", "CASE-10", *b, "--json"))
    assert (again["entry_id"], again.get("existing")) == (first["entry_id"], True)
    refused = consortium.cli("appeal", rid, "--case", "someone@example.org", *b)
    assert (refused.code, refused.out) == (2, "") and "--case: got someone@example.org" in refused.err

    explained = json.loads(consortium.run("explain", query_id, *consortium.admin("platform-b"), "--json"))
    assert [(m["record_id"], m["query_id"]) for m in explained["matches"]] == [(rid, query_id)]


def test_disputes_by_k_members_quarantine_a_hash_and_open_a_case(consortium: Consortium, tmp_path: Path) -> None:
    publish_policy(consortium, tmp_path, dispute_quorum=2, quarantine="mark")
    rid = contribute(consortium)
    opinions = []
    for member in ("platform-b", "platform-c"):
        done = consortium.run("dispute", rid, "--reason-code", "not_tvec", *consortium.client(member), "--json")
        opinions.append(json.loads(done)["entry_id"])
        time.sleep(0.01)  # two reports in a known order

    def marked_everywhere() -> bool:
        for member in consortium.nodes:
            found = json.loads(consortium.run("match", *consortium.client(member), PDQ, "--json"))
            if [(m["record_id"], m["disputed"]) for m in found[0]["matches"]] != [(rid, True)]:
                return False
        return True

    eventually(marked_everywhere, "every node to mark the hit disputed")
    shown = consortium.run("match", *consortium.client("platform-b"), PDQ)
    assert "DISPUTED: a case is open, review before acting" in shown
    assert "policy: disputed: reported as a false positive (case opened by" in shown

    # The case is named by the opinion that completed the quorum; the contributor decides it like an appeal.
    bundle = consortium.bundle("platform-a", rid, tmp_path / "b.json")
    assert [r["kind"] for r in bundle["related"]] == ["opinion", "opinion"]  # type: ignore[union-attr]
    assert consortium.verify(tmp_path / "b.json")["status"] == "active"  # the consortium file has no dispute quorum
    roster = tmp_path / "roster-v2.json"
    chain = ("--roster", EXAMPLE_KEYS / "roster.json", "--roster", roster)  # the root, then version 2
    pinned = json.loads(consortium.run("verify", tmp_path / "b.json", *chain, "--json"))
    assert pinned["status"] == "disputed"
    case = opinions[-1]  # the report that completed the quorum opened the case
    queue = json.loads(consortium.run("cases", *consortium.admin("platform-a"), "--json"))["cases"]
    assert [(c["kind"], c["role"], c["case_id"], c["record_id"], c["opened_by"]) for c in queue] == [
        ("dispute", "to_decide", case, rid, "platform-c")
    ]
    assert queue[0]["opened_by_contact"] == "trust-and-safety@platform-c.example"
    assert queue[0]["deadline_ms"] == queue[0]["opened_at_ms"] + 72 * 3_600_000 and not queue[0]["overdue"]
    shown_queue = consortium.run("cases", *consortium.admin("platform-a"))
    assert shown_queue.startswith("1 open case(s) as of ") and f"case {case}" in shown_queue
    decided = consortium.run(
        "decide", case, "--outcome", "upheld", "--reason", "propaganda", *consortium.client("platform-a")
    )
    assert "is now active on this node" in decided

    def lifted_everywhere() -> bool:
        for member in consortium.nodes:
            found = json.loads(consortium.run("match", *consortium.client(member), PDQ, "--json"))
            if [(m["record_id"], m["disputed"]) for m in found[0]["matches"]] != [(rid, False)]:
                return False
        return True

    eventually(lifted_everywhere, "every node to lift the quarantine")
