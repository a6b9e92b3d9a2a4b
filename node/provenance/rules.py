"""The rules a provenance bundle, its file and its trust anchor must satisfy, by id (docs/protocol.md §9).

Every refusal by `hashnode verify` names one of these ids, and so does every invalid conformance vector
(tests/vectors/bundles/manifest.json); so does every decision a verified bundle carries that does not count
(DECISION_RULES, §9.7). tests/test_bundle_vectors.py fails when a rule has no documented row in §9.8 or no vector,
or when either verifier's code names a rule id that is not here; the fuzz test fails when a refusal names no
rule here: the tables, the document and the vectors are kept equal.
"""

from __future__ import annotations

from node.core.errors import VerificationError

# The rules of §9.7 by which a verified decision does not count (refused, or pending): they refuse no bundle, and
# name the ruling of a decision entry. Kept with RULES in the document's rule index and the vectors.
from node.dueprocess.deadlines import DECISION_RULES as DECISION_RULES

# id → what it refuses (the §9 rule table says the same in full)
RULES: dict[str, str] = {
    # the bundle file (§9.1)
    "file.utf8": "the file is not UTF-8, or starts with a byte order mark",
    "file.json": "the file is not one strict JSON object",
    "file.field_unknown": "a field the schema does not define",
    "file.field_missing": "a required field is absent",
    "file.field_invalid": "a field has the wrong type, range, encoding or case",
    "file.format_version": "format_version is not 1",
    # the trust anchor (§9.2)
    "consortium.utf8": "the consortium file is not UTF-8, or starts with a byte order mark",
    "consortium.syntax": "the consortium file is neither strict JSON nor TOML",
    "consortium.field_unknown": "a consortium file field the schema does not define",
    "consortium.field_missing": "a required consortium file field is absent",
    "consortium.field_invalid": "a consortium file field has the wrong type, range or syntax",
    "consortium.member_duplicate": "two members with one id",
    "consortium.key_duplicate": "one key listed twice, or for two members",
    "anchor.roster_malformed": "a roster file or its bytes do not decode",
    "anchor.roster_root": "the first roster is neither version 1 nor the pinned roster id",
    "anchor.roster_threshold": "too few of a roster's stewards signed it",
    "anchor.roster_chain": "a later roster does not follow from the one before it",
    "anchor.roster_expired": "the newest roster had expired at the verification time",
    # the contribution entry and the record (§9.3)
    "record.header": "the entry header does not decode",
    "record.shape": "the header breaks seq/prev or item count rules, or the record item is over 4096 bytes",
    "record.kind": "the entry is not a contribution",
    "record.consortium": "the entry is of another consortium than the bundle or the anchor",
    "record.signature": "the entry signature does not verify",
    "record.leaf_count": "leaf_count is not the header's item_count",
    "record.proof": "the inclusion proof does not lead to the signed body root",
    "record.id": "record_id does not derive from the entry id and leaf_index",
    "record.item": "the record item is not a canonical hash record of a known signal type",
    # keys, for every signed part (§9.4)
    "key.member": "the signer is not a member of the anchor (or has no member entry in the bundle)",
    "key.unknown": "the signer has no key with the header's key id",
    "key.not_valid": "the key was not valid at the signed time",
    "key.revoked": "the signer signed after its revocation cutoff",
    "key.role": "with an anchor: the signer's roles do not let it author entries of this kind",
    # related entries (§9.5)
    "related.duplicate": "one entry appears twice in related",
    "related.header": "a related entry header does not decode",
    "related.shape": "a related entry breaks seq/prev, item count or item size rules",
    "related.body_root": "a related entry's items do not match its signed body root",
    "related.consortium": "a related entry is of another consortium",
    "related.signature": "a related entry signature does not verify",
    "related.kind": "a related entry is a contribution or of a reserved kind",
    "related.item": "an item of a related entry does not decode as an item of its kind",
    "related.unrelated": "no item of a related entry concerns the record",
    # the assembler's signed statement (§9.6)
    "assembly.malformed": "the assembly statement does not decode",
    "assembly.consortium": "the assembly statement is of another consortium",
    "assembly.record": "the assembly statement is about another record",
    "assembly.signature": "the assembly signature does not verify",
    "assembly.frontier": "an entry of the bundle lies beyond the assembler's signed frontier",
    "assembly.omitted": "an entry the assembler listed is missing from the bundle",
    "assembly.unlisted": "the bundle carries an entry the assembler did not list",
}


class Rejected(VerificationError):
    """A bundle (or its anchor) breaks rule `rule` (one of RULES); the message says where and how."""

    def __init__(self, rule: str, message: str) -> None:
        if rule not in RULES:
            raise KeyError(f"undocumented verification rule {rule!r}")
        super().__init__(message)
        self.rule = rule

    def diagnostics(self) -> str:
        return f"{self.message} [rule {self.rule}]"


def rule_of(error: BaseException) -> str:
    """The rule id an error carries, or "" when it carries none (a defect: every refusal names a rule)."""
    return getattr(error, "rule", "") if isinstance(error, VerificationError) else ""
