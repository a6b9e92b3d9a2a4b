"""Replication converges under faults (issue 3), checked by the deterministic simulator (replication/sim.py).

Every run uses real Ed25519 keys and real signed entries over a network that drops, duplicates, delays and
reorders messages, with a partition that heals and a node that crashes and restarts. Once the faults stop,
every node must hold the same state digest, and it must be the digest of what was actually signed: an oracle,
not only a comparison of the nodes with one another.
"""

from __future__ import annotations

import pytest

from node.replication.evidence import ForkEvidence, verify_evidence
from node.replication.sim import CONSORTIUM_ID, EQUIVOCATOR, SimConfig, SimResult, simulate


def honest(seed: int) -> SimConfig:
    """3 to 5 nodes; two crashes in every third run."""
    return SimConfig(seed=seed, nodes=3 + seed % 3, restarts=1 + (seed % 3 == 0))


def assert_converged(result: SimResult) -> None:
    assert result.converged_at_ms is not None, f"no convergence within the time limit: {result.stats}"
    digests = result.digests
    assert set(digests.values()) == {result.expected_digest}, {n: d.hex()[:12] for n, d in digests.items()}


# --- honest authors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(100))
def test_honest_nodes_converge_to_what_was_signed(seed: int) -> None:
    result = simulate(honest(seed))
    assert_converged(result)
    assert result.stats.restarts >= 1
    for logs in result.nodes.values():
        assert logs.evidence() == []
        assert logs.held_ids() == result.honest_ids


@pytest.mark.parametrize("seed", range(20))
def test_a_member_admitted_late_is_replicated_once_every_node_knows_it(seed: int) -> None:
    result = simulate(SimConfig(seed=seed, late_member=True))
    assert_converged(result)
    assert all(logs.pending_count() == 0 for logs in result.nodes.values())


def test_the_faults_are_real() -> None:
    """Guards the simulator itself: a run without drops or overflowing buffers would prove nothing."""
    stats = [simulate(honest(seed)).stats for seed in range(20)]
    stats += [simulate(SimConfig(seed=seed, late_member=True)).stats for seed in range(5)]
    for counter in ("dropped", "duplicated", "timeouts", "restarts", "overflowed", "held_pending"):
        assert sum(getattr(s, counter) for s in stats) > 0, counter


def test_a_seed_replays_exactly() -> None:
    first, second = simulate(honest(7)), simulate(honest(7))
    assert first.digests == second.digests
    assert first.stats == second.stats
    assert first.converged_at_ms == second.converged_at_ms


# --- an author equivocating across a partition --------------------------------------------------------------


@pytest.mark.parametrize(
    "continues", [False, True], ids=["stops after the fork", "keeps signing on one branch"]
)
@pytest.mark.parametrize("seed", range(20))
def test_partition_equivocation_is_proven_everywhere_and_first_entries_stay(
    seed: int, continues: bool
) -> None:
    result = simulate(SimConfig(seed=seed, equivocation=True, equivocator_continues=continues))
    assert_converged(result)
    fork = result.fork
    assert fork is not None
    both = {fork.entry_a.entry_id, fork.entry_b.entry_id}
    held_at_fork = set()
    for name, logs in result.nodes.items():
        assert logs.is_convicted(EQUIVOCATOR), name
        for evidence in logs.evidence():
            assert evidence.author == EQUIVOCATOR
            verify_evidence(evidence, consortium_id=CONSORTIUM_ID, membership=logs.membership)
        entry = logs.entry_at(EQUIVOCATOR, fork.seq)
        if entry is not None:
            assert entry.entry_id == fork.first_applied[name], f"{name} lost the first entry it applied"
            held_at_fork.add(entry.entry_id)
    assert held_at_fork == both, "each half keeps its own branch"
    if not continues:
        pair = ForkEvidence.of(fork.entry_a, fork.entry_b)
        assert all(logs.evidence() == [pair] for logs in result.nodes.values())


def test_partition_equivocation_walkthrough() -> None:
    """One run, spelled out: the halves keep different first entries and end up agreeing on the evidence."""
    result = simulate(SimConfig(seed=3, nodes=4, equivocation=True, equivocator_continues=False, restarts=0))
    fork = result.fork
    assert fork is not None and fork.group_a and fork.group_b
    for name in fork.group_a:
        assert result.nodes[name].entry_at(EQUIVOCATOR, fork.seq) == fork.entry_a
    for name in fork.group_b:
        assert result.nodes[name].entry_at(EQUIVOCATOR, fork.seq) == fork.entry_b
    [evidence_ids] = {logs.evidence_ids() for logs in result.nodes.values()}
    assert evidence_ids == {ForkEvidence.of(fork.entry_a, fork.entry_b).evidence_id}
    assert len(set(result.digests.values())) == 1
    assert_converged(result)
