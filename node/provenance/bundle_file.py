"""The bundle file: the one strict reader of provenance bundles as people carry them (docs/protocol.md §9.1,
schema docs/schema/bundle.schema.json).

A bundle file is the protobuf JSON mapping of `hashnode.v1.ProvenanceBundle` with the proto field names, as
`hashnode provenance --out` writes it. This reader accepts exactly what the schema allows: every field typed,
no unknown field, ids in lowercase hex, bytes in canonical base64, 64-bit integers as decimal strings. It checks
structure only; what the bytes prove is `verify_bundle`'s job. `hashnode verify`, `hashnode provenance` and the
tests all read bundles through `parse`, so none accepts a file another refuses.
"""

from __future__ import annotations

from node.core.jsondoc import DocumentError, Obj, decode_base64, fail, loads, strings
from node.core.keys import PUBLIC_KEY_SIZE, PublicKey
from node.membership.members import ROLES, STATUSES, Member, MemberKey
from node.provenance.bundle import FORMAT_VERSION, ProvenanceBundle, RelatedEntry
from node.provenance.rules import Rejected

_RECORD_STATUSES = (
    "RECORD_STATUS_UNSPECIFIED",
    "RECORD_STATUS_ACTIVE",
    "RECORD_STATUS_RETRACTED",
    "RECORD_STATUS_OVERTURNED",
    "RECORD_STATUS_SUSPENDED",
    "RECORD_STATUS_DISPUTED",
)


def parse(data: bytes) -> ProvenanceBundle:
    """Reads a bundle file's bytes.

    Raises:
        Rejected: the file breaks a `file.*` rule (not UTF-8, not strict JSON, a field unknown, missing or
            malformed, or format_version not 1).
    """
    try:
        return _bundle(Obj(loads(data), ""))
    except DocumentError as exc:
        raise Rejected(f"file.{exc.kind}", f"bundle file: {exc.message}") from None


def _bundle(top: Obj) -> ProvenanceBundle:
    version = top.u32("format_version", required=True)
    if version != FORMAT_VERSION:
        raise Rejected("file.format_version", f"format_version: got {version}, want {FORMAT_VERSION}")
    consortium_id = top.string("consortium_id", required=True)
    record_id = top.hex_id("record_id", required=True)
    bundle = ProvenanceBundle(
        consortium_id=consortium_id,
        record_id=bytes.fromhex(record_id),
        record_item=top.base64("record_item", required=True),
        leaf_index=top.u32("leaf_index"),
        leaf_count=top.u32("leaf_count", required=True),
        inclusion_proof=tuple(_bytes_list(top.array("inclusion_proof"))),
        entry_header=top.base64("entry_header", required=True),
        entry_signature=top.base64("entry_signature", required=True),
        author=_optional_member(top, "author"),
        related=tuple(_related(Obj(value, path)) for path, value in top.array("related")),
        generated_at_ms=top.u64_text("generated_at_ms") or 0,
        generated_by=top.string("generated_by"),
        stewards=tuple(_member(Obj(value, path)) for path, value in top.array("stewards")),
        decision_window_ms=top.u64_text("decision_window_ms"),
        assembly=top.base64("assembly", required=True),
        assembly_signature=top.base64("assembly_signature", required=True),
        assembler=_optional_member(top, "assembler"),
    )
    view = top.obj("record")
    if view is not None:
        _record_view(view)
    top.done()
    return bundle


def _bytes_list(items: list[tuple[str, object]]) -> list[bytes]:
    return [decode_base64(value, path) for path, value in items]


def _optional_member(top: Obj, name: str) -> Member | None:
    member = top.obj(name)
    return None if member is None else _member(member)


def _member(obj: Obj) -> Member:
    """A member entry (MemberInfo): who the bundle says a signer is. A claim, used only without an anchor."""
    member_id = obj.string("member_id", required=True)
    roles = tuple(strings(obj.array("roles")))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        fail("field_invalid", f"{obj.path}.roles", f"got {bad[0]!r}, want any of {', '.join(ROLES)}")
    status = obj.string("status", default="active")
    if status not in STATUSES:
        fail("field_invalid", f"{obj.path}.status", f"got {status!r}, want one of {', '.join(STATUSES)}")
    keys = _keys(obj)
    member = Member(
        member_id=member_id,
        organisation=obj.string("organisation"),
        keys=keys,
        roles=roles,
        contact=obj.string("contact"),
        status=status,
        status_version=obj.u64_text("status_roster_version") or 0,
        revoked_after_ms=obj.u64_text("revoked_after_ms") or 0,
    )
    if (status == "revoked") != (member.revoked_after_ms > 0):
        # As in consortium files and rosters: a cutoff exactly when revoked, so that no reader has to choose
        # between the status and the cutoff.
        fail("field_invalid", f"{obj.path}.revoked_after_ms",
             f"got {member.revoked_after_ms} with status {status!r}, want > 0 exactly when the status is revoked")
    obj.done()
    return member


def _keys(obj: Obj) -> tuple[MemberKey, ...]:
    """A member entry's keys, each public key once: a key with two validity windows would leave "the key's
    window" to the reader's choice, so the entry is refused instead (as consortium files and rosters are)."""
    keys: list[MemberKey] = []
    for path, value in obj.array("keys"):
        key = _key(Obj(value, path))
        if any(k.public_key == key.public_key for k in keys):
            fail("field_invalid", f"{path}.public_key", "got a key this member entry already lists, want each key once")
        keys.append(key)
    return tuple(keys)


def _key(obj: Obj) -> MemberKey:
    raw = obj.base64("public_key", required=True)
    if len(raw) != PUBLIC_KEY_SIZE:
        fail("field_invalid", f"{obj.path}.public_key", f"got {len(raw)} bytes, want {PUBLIC_KEY_SIZE}")
    obj.hex_id("key_id")  # a convenience: never compared with SHA-256(public_key), which is what counts
    key = MemberKey(PublicKey(raw), obj.u64_text("valid_from_ms") or 0, obj.u64_text("valid_until_ms") or 0)
    if key.valid_until_ms and key.valid_until_ms < key.valid_from_ms:
        fail("field_invalid", f"{obj.path}.valid_until_ms",
             f"got {key.valid_until_ms}, want 0 or >= valid_from_ms {key.valid_from_ms}")
    obj.done()
    return key


def _related(obj: Obj) -> RelatedEntry:
    entry = obj.obj("entry", required=True)
    assert entry is not None
    related = RelatedEntry(
        header=entry.base64("header", required=True),
        signature=entry.base64("signature", required=True),
        items=tuple(_bytes_list(entry.array("items", required=True))),
        author=_optional_member(obj, "author"),
        kind=obj.string("kind"),
        summary=obj.string("summary"),
    )
    entry.done()
    obj.done()
    return related


def _video_view(video: Obj) -> None:
    """A vpdq record's features in the view (VideoFeatures): shape-checked like the rest of the view."""
    video.u32("interval_ms")
    for path, value in video.array("frames"):
        frame = Obj(value, path)
        frame.base64("pdq")
        frame.u32("quality")
        frame.u32("frame_number")
        frame.u64_text("timestamp_ms")
        frame.done()
    video.done()


def _record_view(view: Obj) -> None:
    """The decoded `record` view (RecordInfo): shape-checked, then dropped. Verifiers show what they derive."""
    view.hex_id("record_id")
    record = view.obj("record")
    if record is not None:
        for name in ("signal_type", "value", "reference", "source"):
            record.string(name)
        record.u32("quality")
        strings(record.array("labels"))
        strings(record.array("tags"))
        video = record.obj("video")
        if video is not None:
            _video_view(video)
        record.done()
    view.string("author")
    view.hex_id("entry_id")
    view.u64_text("seq")
    view.u32("index")
    view.u64_text("contributed_at_ms")
    status = view.string("status", default="RECORD_STATUS_UNSPECIFIED")
    if status not in _RECORD_STATUSES:
        fail("field_invalid", f"{view.path}.status", f"got {status!r}, want one of {', '.join(_RECORD_STATUSES)}")
    view.done()
