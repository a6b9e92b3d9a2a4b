"""Conversion between generated protobuf messages and domain types, with request validation.

This module and the servicers are the only code that touches generated types. Every conversion from a message
validates it completely and raises `InvalidArgument` (or `VerificationError` for signed data) naming the field
path, e.g. `records[3].value: got "zz", want 64 hex characters for pdq`; a batch is validated as a whole
before anything is handed to the ledger, so a bad request writes nothing.

Batch size limits: an empty or oversized batch is INVALID_ARGUMENT, not RESOURCE_EXHAUSTED. The limit is a
documented property of the request (`1..max_batch`), the request is wrong whatever the node's state, and
retrying it unchanged never helps; RESOURCE_EXHAUSTED is left to quotas and to gRPC's own message size limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from google.protobuf import json_format  # type: ignore[import-untyped]

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.core.content_ref import MAX_CONTENT_REF_BYTES, check_content_ref
from node.core.entry import Entry, EntryKind, MalformedEntry
from node.core.errors import InvalidArgument, VerificationError
from node.core.records import HashRecord
from node.core.signals import REGISTRY as SIGNAL_TYPES
from node.core.signals import VPDQ, SignalType, signal_type
from node.core.taxonomy import Taxonomy
from node.core.vpdq import VpdqFeatures, VpdqFrame, check_matchable
from node.dueprocess.items import DecisionItem, Outcome, Stance
from node.index.pdq import MAX_THRESHOLD
from node.index.video import VideoComparison
from node.ledger.cases import OpenCase
from node.ledger.export import DEFAULT_BATCH as DEFAULT_EXPORT_BATCH
from node.ledger.export import MAX_BATCH as MAX_EXPORT_BATCH
from node.ledger.export import ExportPage, Selection
from node.ledger.ledger import HitRecord, MatchExplanation, Query, RecordStatus, StoredRecord, SubmitResult
from node.membership.members import Member
from node.provenance import bundle_file
from node.provenance.bundle import FORMAT_VERSION, ProvenanceBundle, RelatedEntry
from node.storage.matchlog import StoredNotice

ID_SIZE = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


def _check_batch(field: str, size: int, max_batch: int, what: str) -> None:
    if not 1 <= size <= max_batch:
        raise InvalidArgument(field, f"{size} {what}", f"1..{max_batch}")


def parse_id(text: str, field: str) -> bytes:
    """Parses a record or entry id: 64 hex characters (either case), nothing around or between them."""
    value = text.lower()
    if len(value) != ID_SIZE * 2 or not set(value) <= _HEX_DIGITS:
        shown = repr(text) if len(text) == ID_SIZE * 2 else text or '""'
        want = f"{ID_SIZE * 2} hex characters" + (", no spaces" if text.strip() != text or " " in text else "")
        raise InvalidArgument(field, shown, want)
    return bytes.fromhex(value)


# --- hash records -------------------------------------------------------------------------------------------


def features_from_proto(msg: types_pb2.VideoFeatures, field: str) -> VpdqFeatures:
    """A video's frame features as a request gives them, validated (`VpdqFeatures.create`); errors name the
    field, e.g. `records[0].video.frames[3].timestamp_ms`."""
    frames = [VpdqFrame(f.pdq, f.quality, f.frame_number, f.timestamp_ms) for f in msg.frames]
    return VpdqFeatures.create(frames, msg.interval_ms, field)


def fill_features(msg: types_pb2.VideoFeatures, features: VpdqFeatures) -> None:
    """Sets `msg` (a field of its parent) to `features`."""
    msg.interval_ms = features.interval_ms
    add = msg.frames.add
    for frame in features.frames:
        add(pdq=frame.pdq, quality=frame.quality, frame_number=frame.frame_number, timestamp_ms=frame.timestamp_ms)


def record_from_proto(
    msg: types_pb2.HashRecord, *, taxonomy: Taxonomy, min_pdq_quality: int, field: str
) -> HashRecord:
    video = features_from_proto(msg.video, f"{field}.video") if msg.HasField("video") else None
    return HashRecord.create(
        signal_type_name=msg.signal_type,
        value_hex=msg.value,
        quality=msg.quality,
        labels=list(msg.labels),
        tags=list(msg.tags),
        reference=msg.reference,
        source=msg.source,
        taxonomy=taxonomy,
        min_pdq_quality=min_pdq_quality,
        video=video,
        field=field,
    )


def records_from_request(
    request: client_pb2.SubmitRequest, *, taxonomy: Taxonomy, min_pdq_quality: int, max_batch: int
) -> list[HashRecord]:
    """Validates a whole Submit batch; raises on the first bad record, before anything is written."""
    _check_batch("records", len(request.records), max_batch, "records")
    return [
        record_from_proto(msg, taxonomy=taxonomy, min_pdq_quality=min_pdq_quality, field=f"records[{i}]")
        for i, msg in enumerate(request.records)
    ]


MAX_REQUEST_ID = 128


def request_id_from(request: client_pb2.SubmitRequest) -> str | None:
    """The client's request id of a submission (None: none sent). Raises: InvalidArgument."""
    request_id = request.request_id
    if not request_id:
        return None
    if len(request_id) > MAX_REQUEST_ID or not all(" " < c <= "~" for c in request_id):
        raise InvalidArgument(
            "request_id", request_id, f"1..{MAX_REQUEST_ID} printable ASCII characters without spaces (a UUID)"
        )
    return request_id


def record_to_proto(record: HashRecord) -> types_pb2.HashRecord:
    msg = types_pb2.HashRecord()
    _fill_record(msg, record)
    return msg


# Matching builds a response of thousands of records. The `_fill_*` helpers set a message that is already a
# field of its parent: a message built on its own is copied again when it is assigned into the parent.


def _fill_record(msg: types_pb2.HashRecord, record: HashRecord) -> None:
    msg.signal_type = record.signal_type
    if record.signal_type == VPDQ.name:
        fill_features(msg.video, record.features)
    else:
        msg.value = record.value.hex()
    msg.quality = record.quality
    msg.labels.extend(record.labels)
    msg.tags.extend(record.tags)
    msg.reference = record.reference
    msg.source = record.source


def submit_response(result: SubmitResult) -> client_pb2.SubmitResponse:
    entry = result.entry
    return client_pb2.SubmitResponse(
        entry_id=entry.entry_id.hex() if entry is not None else "",
        seq=entry.header.seq if entry is not None else 0,
        record_ids=[rid.hex() for rid in result.record_ids],
        duplicates=result.duplicates,
    )


# --- matching -----------------------------------------------------------------------------------------------


def threshold_from_request(request: client_pb2.MatchRequest, field: str = "pdq_threshold") -> int | None:
    """The requested PDQ threshold, or None for the node's default."""
    if not request.HasField("pdq_threshold"):
        return None
    if request.pdq_threshold > MAX_THRESHOLD:
        raise InvalidArgument(field, request.pdq_threshold, f"0..{MAX_THRESHOLD}")
    return int(request.pdq_threshold)


def queries_from_request(
    request: client_pb2.MatchRequest, *, max_batch: int, prefix: str = ""
) -> tuple[list[Query], int | None]:
    """Validates a Match request: queries (type, hex, length), threshold. `prefix` locates it in a stream."""
    _check_batch(f"{prefix}queries", len(request.queries), max_batch, "queries")
    queries = []
    for i, msg in enumerate(request.queries):
        # The common case checked without building field names: a known type in lower case, a value of
        # exactly its hex length (bytes.fromhex would skip inner spaces: the length rules them out) and a
        # content reference too short to pass the limit. Anything else goes through the checks that name it.
        known, value, content_ref = SIGNAL_TYPES.get(msg.signal_type), msg.value, msg.content_ref
        raw = _quick_value(known, value) if len(content_ref) <= MAX_CONTENT_REF_BYTES // 4 else None
        if known is None or raw is None:
            known = signal_type(msg.signal_type, f"{prefix}queries[{i}].signal_type")
            if known is VPDQ:
                raw = _video_query(msg, f"{prefix}queries[{i}]")
            else:
                raw = known.parse(value, f"{prefix}queries[{i}].value")
            content_ref = check_content_ref(content_ref, f"{prefix}queries[{i}].content_ref")
        queries.append(Query(known.name, raw, content_ref))
    return queries, threshold_from_request(request, f"{prefix}pdq_threshold")


def _video_query(msg: client_pb2.HashQuery, field: str) -> bytes:
    """A video query's features (`video`, validated: in order, and some frame matching can use), encoded."""
    if msg.value:
        raise InvalidArgument(f"{field}.value", msg.value, "empty for vpdq: the video's frame features go in `video`")
    if not msg.HasField("video"):
        raise InvalidArgument(f"{field}.video", "absent", "the query video's frame features (vpdq)")
    features = features_from_proto(msg.video, f"{field}.video")
    check_matchable(features, f"{field}.video")
    return features.encode()


def video_thresholds_from_request(
    request: client_pb2.MatchRequest, prefix: str = ""
) -> tuple[float | None, float | None]:
    """The request's vPDQ thresholds (percent, 0..100), None where absent (the node's own apply)."""
    found: list[float | None] = []
    for name in ("vpdq_query_match_percent", "vpdq_compared_match_percent"):
        value = getattr(request, name) if request.HasField(name) else None
        if value is not None and not 0 <= value <= 100:  # NaN fails both
            raise InvalidArgument(f"{prefix}{name}", value, "a percentage 0..100")
        found.append(value)
    return found[0], found[1]


def _quick_value(kind: SignalType | None, value: str) -> bytes | None:
    """`value` parsed if it is exactly the type's hex digits (the common case), else None."""
    if kind is None or not kind.size or len(value) != 2 * kind.size:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if len(raw) == kind.size else None


_RECORD_STATUS = {
    RecordStatus.ACTIVE: types_pb2.RECORD_STATUS_ACTIVE,
    RecordStatus.RETRACTED: types_pb2.RECORD_STATUS_RETRACTED,
    RecordStatus.OVERTURNED: types_pb2.RECORD_STATUS_OVERTURNED,
    RecordStatus.SUSPENDED: types_pb2.RECORD_STATUS_SUSPENDED,
    RecordStatus.DISPUTED: types_pb2.RECORD_STATUS_DISPUTED,
}


def record_status_to_proto(status: RecordStatus) -> types_pb2.RecordStatus:
    return _RECORD_STATUS[status]


def stored_record_to_proto(stored: StoredRecord) -> types_pb2.RecordInfo:
    msg = types_pb2.RecordInfo()
    _fill_record_info(msg, stored)
    return msg


def _fill_record_info(msg: types_pb2.RecordInfo, stored: StoredRecord) -> None:
    msg.record_id = stored.record_id.hex()
    _fill_record(msg.record, stored.record)
    msg.author = stored.author
    msg.entry_id = stored.entry_id.hex()
    msg.seq = stored.seq
    msg.index = stored.index
    msg.contributed_at_ms = stored.timestamp_ms
    msg.status = _RECORD_STATUS[stored.status]


def record_info_bytes(record: HitRecord) -> bytes:
    """A matched record's serialized RecordInfo (`MatchRequest.include_records`): a video's without its frames,
    which would make a response of a few video hits too large."""
    stored = record.stored()
    msg = stored_record_to_proto(stored)
    if stored.record.signal_type == VPDQ.name:  # its frames: GetProvenance
        msg.video_frames = len(stored.record.features.frames)
        del msg.record.video.frames[:]
    return bytes(msg.SerializeToString())


# --- retraction ---------------------------------------------------------------------------------------------

MAX_REASON_BYTES = 1024


def retraction_from_request(request: client_pb2.RetractRequest, *, max_batch: int) -> tuple[list[bytes], str]:
    _check_batch("record_ids", len(request.record_ids), max_batch, "record ids")
    ids = [parse_id(text, f"record_ids[{i}]") for i, text in enumerate(request.record_ids)]
    if len(request.reason.encode("utf-8")) > MAX_REASON_BYTES:
        raise InvalidArgument(
            "reason", f"{len(request.reason)} characters", f"at most {MAX_REASON_BYTES} bytes"
        )
    return ids, request.reason


def retract_response(entry: Entry) -> client_pb2.RetractResponse:
    return client_pb2.RetractResponse(entry_id=entry.entry_id.hex(), seq=entry.header.seq)


# --- members and entries ------------------------------------------------------------------------------------


def member_to_proto(member: Member) -> types_pb2.MemberInfo:
    return types_pb2.MemberInfo(
        member_id=member.member_id,
        organisation=member.organisation,
        keys=[
            types_pb2.MemberKey(
                key_id=key.public_key.key_id.hex(),
                public_key=key.public_key.raw,
                valid_from_ms=key.valid_from_ms,
                valid_until_ms=key.valid_until_ms,
            )
            for key in member.keys
        ],
        roles=member.roles,
        contact=member.contact,
        status=member.status,
        status_roster_version=member.status_version,
        revoked_after_ms=member.revoked_after_ms,
    )


def entry_to_proto(entry: Entry) -> types_pb2.SignedEntry:
    return types_pb2.SignedEntry(header=entry.header_bytes, signature=entry.signature, items=entry.items)


def entry_from_proto(msg: types_pb2.SignedEntry, field: str) -> Entry:
    """Parses a signed entry as received (the signature is checked later, against the author's key)."""
    try:
        return Entry.parse(bytes(msg.header), bytes(msg.signature), [bytes(item) for item in msg.items])
    except MalformedEntry as exc:
        raise MalformedEntry(f"{field}: {exc.message}", exc.reason) from None
    except VerificationError as exc:  # includes EncodingError
        raise type(exc)(f"{field}: {exc.message}") from None


# --- provenance bundles -------------------------------------------------------------------------------------


def _related_to_proto(related: RelatedEntry) -> types_pb2.RelatedEntry:
    return types_pb2.RelatedEntry(
        entry=types_pb2.SignedEntry(header=related.header, signature=related.signature, items=related.items),
        author=None if related.author is None else member_to_proto(related.author),
        kind=related.kind,
        summary=related.summary,
    )


def bundle_to_proto(bundle: ProvenanceBundle, view: StoredRecord | None = None) -> types_pb2.ProvenanceBundle:
    """The wire form of a bundle; `view` fills the decoded `record` field, which verifiers never trust."""
    return types_pb2.ProvenanceBundle(
        format_version=FORMAT_VERSION,
        consortium_id=bundle.consortium_id,
        record_id=bundle.record_id.hex(),
        record_item=bundle.record_item,
        leaf_index=bundle.leaf_index,
        leaf_count=bundle.leaf_count,
        inclusion_proof=bundle.inclusion_proof,
        entry_header=bundle.entry_header,
        entry_signature=bundle.entry_signature,
        author=None if bundle.author is None else member_to_proto(bundle.author),
        related=[_related_to_proto(r) for r in bundle.related],
        record=None if view is None else stored_record_to_proto(view),
        generated_at_ms=bundle.generated_at_ms,
        generated_by=bundle.generated_by,
        stewards=[member_to_proto(m) for m in bundle.stewards],
        decision_window_ms=bundle.decision_window_ms,
        assembly=bundle.assembly,
        assembly_signature=bundle.assembly_signature,
        assembler=None if bundle.assembler is None else member_to_proto(bundle.assembler),
    )


def bundle_to_json(msg: types_pb2.ProvenanceBundle) -> str:
    """The bundle file format: protobuf JSON mapping of ProvenanceBundle, proto field names, bytes in base64.

    JSON is only a container: verification works on the bytes fields it carries (record_item, entry_header,
    entry_signature, inclusion_proof, related entries, assembly), which are exactly the signed canonical bytes.
    """
    return str(json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=2)) + "\n"


def bundle_from_proto(msg: types_pb2.ProvenanceBundle) -> ProvenanceBundle:
    """A received bundle read as its file would be (`node.provenance.bundle_file`, the one strict reader), so a
    bundle verifies the same whether it arrives over gRPC or as a file.

    Raises:
        Rejected: it breaks a `file.*` rule.
    """
    return bundle_file.parse(bundle_to_json(msg).encode("utf-8"))


# --- operations ---------------------------------------------------------------------------------------------


def _counts(values: object) -> list[admin_pb2.Count]:
    if not isinstance(values, Mapping):
        return []
    return [admin_pb2.Count(key=str(key), count=int(count)) for key, count in sorted(values.items())]


def stats_to_proto(stats: Mapping[str, object], *, member_id: str, consortium_id: str) -> admin_pb2.Stats:
    def number(key: str) -> int:
        value = stats.get(key, 0)
        return int(value) if isinstance(value, int) else 0

    return admin_pb2.Stats(
        member_id=member_id,
        consortium_id=consortium_id,
        records=number("records"),
        entries=number("entries"),
        records_by_type=_counts(stats.get("by_type")),
        records_by_label=_counts(stats.get("by_label")),
        records_by_author=_counts(stats.get("by_author")),
        index_bytes=number("index_bytes"),
        disk_bytes=number("disk_bytes"),
        map_bytes=number("map_bytes"),
    )


# --- export -------------------------------------------------------------------------------------------------


def export_selection_from_request(
    request: client_pb2.ExportRequest, *, member_id: str
) -> tuple[Selection, int, int]:
    """Validates an ExportRequest: (which records, cursor to start after, records per batch)."""
    if request.batch_size > MAX_EXPORT_BATCH:
        want = f"0..{MAX_EXPORT_BATCH} (0: {DEFAULT_EXPORT_BATCH})"
        raise InvalidArgument("batch_size", request.batch_size, want)
    types = frozenset(
        signal_type(name, f"signal_types[{i}]").name for i, name in enumerate(request.signal_types)
    )
    selection = Selection(
        author=member_id if request.own_only else None,
        include_inactive=request.include_inactive,
        signal_types=types,
        changes=request.changes,
        opinions=request.include_opinions,
    )
    return selection, int(request.after_cursor), int(request.batch_size or DEFAULT_EXPORT_BATCH)


def export_batch(page: ExportPage, *, member_id: str) -> client_pb2.ExportBatch:
    return client_pb2.ExportBatch(
        records=[stored_record_to_proto(stored) for stored in page.records],
        next_cursor=page.next_cursor,
        member_id=member_id,
        opinions=[
            client_pb2.RecordOpinion(
                record_id=rid.hex(),
                member_id=opinion.member,
                stance=_STANCE_CODES[opinion.stance],
                opined_at_ms=opinion.timestamp_ms,
            )
            for rid, opinions in page.opinions.items()
            for opinion in opinions
        ],
    )


# --- due process --------------------------------------------------------------------------------------------

_STANCES: dict[int, Stance] = {
    client_pb2.STANCE_AGREE: Stance.AGREE,
    client_pb2.STANCE_DISAGREE: Stance.DISAGREE,
    client_pb2.STANCE_FALSE_POSITIVE: Stance.FALSE_POSITIVE,
}
_STANCE_CODES: dict[Stance, client_pb2.Stance] = {
    Stance.AGREE: client_pb2.STANCE_AGREE,
    Stance.DISAGREE: client_pb2.STANCE_DISAGREE,
    Stance.FALSE_POSITIVE: client_pb2.STANCE_FALSE_POSITIVE,
}
_OUTCOMES: dict[int, Outcome] = {
    client_pb2.OUTCOME_UPHELD: Outcome.UPHELD,
    client_pb2.OUTCOME_OVERTURNED: Outcome.OVERTURNED,
}


E = TypeVar("E", Stance, Outcome)


def _enum_field(table: Mapping[int, E], value: int, field: str, name: str) -> E:
    if value not in table:
        want = ", ".join(member.label for member in table.values())
        shown = client_pb2.DESCRIPTOR.enum_types_by_name[name].values_by_number.get(value)
        raise InvalidArgument(field, shown.name if shown else value, f"one of {want}")
    return table[value]


def opinion_from_request(request: client_pb2.OpineRequest) -> tuple[bytes, Stance, str, str]:
    """(record id, stance, reason code, text); the ledger checks the code and text limits by field."""
    stance = _enum_field(_STANCES, request.stance, "stance", "Stance")
    return parse_id(request.record_id, "record_id"), stance, request.reason_code, request.text


def appeal_from_request(request: client_pb2.AppealRequest) -> tuple[bytes, str, int | None]:
    distance = request.match_distance if request.HasField("match_distance") else None
    return parse_id(request.record_id, "record_id"), request.case_ref, distance


def decision_from_request(request: client_pb2.DecideRequest) -> tuple[bytes, Outcome, str, bytes | None]:
    """(appeal entry id, outcome, reason, record id or None when the appeal concerns one record)."""
    appeal_entry_id = parse_id(request.appeal_entry_id, "appeal_entry_id")
    outcome = _enum_field(_OUTCOMES, request.outcome, "outcome", "Outcome")
    record = parse_id(request.record_id, "record_id") if request.record_id else None
    return appeal_entry_id, outcome, request.reason, record


def due_process_response(
    entry: Entry, record: StoredRecord, *, existing: bool = False
) -> client_pb2.DueProcessResponse:
    decision = entry.kind == EntryKind.DECISION
    decided_as = DecisionItem.decode(entry.items[0]).decided_as.label if decision else ""
    return client_pb2.DueProcessResponse(
        entry_id=entry.entry_id.hex(),
        seq=entry.header.seq,
        record_id=record.record_id.hex(),
        status=record_status_to_proto(record.status),
        decided_as=decided_as,
        existing=existing,
    )


MAX_NOTICES = 1000
DEFAULT_NOTICES = 100


def notices_limit(limit: int) -> int:
    if limit > MAX_NOTICES:
        raise InvalidArgument("limit", limit, f"0..{MAX_NOTICES} (0: {DEFAULT_NOTICES})")
    return limit or DEFAULT_NOTICES


def notice_to_proto(stored: StoredNotice) -> admin_pb2.ReinstateNotice:
    notice = stored.notice
    return admin_pb2.ReinstateNotice(
        number=stored.number,
        issued_at_ms=stored.created_ms,
        cause_record_id=stored.cause.hex(),
        standing=stored.standing,
        content_ref=notice.content_ref,
        overturned_record_ids=[rid.hex() for rid in notice.overturned],
        still_matched_record_ids=[rid.hex() for rid in notice.still_matched],
        query_ids=notice.query_ids,
        first_matched_ms=notice.first_matched_ms,
        last_matched_ms=notice.last_matched_ms,
        cleared=notice.cleared,
        statement_ids=notice.statement_ids,
        videos=[
            admin_pb2.NoticeVideoMatch(query_id=query_id, record_id=rid.hex(), video=video_match_to_proto(video))
            for query_id, rid, video in notice.videos
        ],
    )


def video_match_to_proto(video: VideoComparison) -> client_pb2.VideoMatch:
    """A video query's match as `Match.video` carries it (the same message node/api/match_wire.py writes)."""
    return client_pb2.VideoMatch(
        query_match_percent=video.query_match_percent,
        compared_match_percent=video.compared_match_percent,
        query_ranges=[client_pb2.TimeRange(start_ms=r.start_ms, end_ms=r.end_ms) for r in video.query_ranges],
        stored_ranges=[client_pb2.TimeRange(start_ms=r.start_ms, end_ms=r.end_ms) for r in video.stored_ranges],
    )


def explain_response(
    content_ref: str, explained: Sequence[MatchExplanation], query_id: str = ""
) -> admin_pb2.ExplainMatchResponse:
    return admin_pb2.ExplainMatchResponse(
        content_ref=content_ref,
        query_id=query_id,
        matches=[
            admin_pb2.MatchExplanation(
                matched_at_ms=e.match.time_ms,
                distance=e.match.distance,
                query_id=e.match.query_id,
                record=stored_record_to_proto(e.record),
                bundle=bundle_to_proto(e.bundle, view=e.record),
                video=None if e.match.video is None else video_match_to_proto(e.match.video),
            )
            for e in explained
        ],
    )


MAX_REPORT_MS = 253_402_300_800_000  # 10000-01-01: reports label their days with calendar dates


def report_period(request: admin_pb2.ReportRequest) -> tuple[int, int]:
    if not 0 <= request.from_ms < MAX_REPORT_MS:
        raise InvalidArgument("from_ms", request.from_ms, f"0..{MAX_REPORT_MS - 1} (Unix milliseconds)")
    if request.to_ms > MAX_REPORT_MS:
        raise InvalidArgument("to_ms", request.to_ms, f"at most {MAX_REPORT_MS} (Unix milliseconds)")
    if request.to_ms <= request.from_ms:
        raise InvalidArgument("to_ms", request.to_ms, f"after from_ms ({request.from_ms})")
    return request.from_ms, request.to_ms


def open_case_to_proto(case: OpenCase, now_ms: int) -> admin_pb2.OpenCase:
    return admin_pb2.OpenCase(
        kind=case.kind,
        role=case.role,
        record_id=case.record_id.hex(),
        case_id=case.case_id.hex(),
        case_ref=case.case_ref,
        contributor=case.contributor,
        contributor_contact=case.contributor_contact,
        opened_by=case.opened_by,
        opened_by_contact=case.opened_by_contact,
        opened_at_ms=case.opened_at_ms,
        deadline_ms=case.deadline_ms,
        overdue=case.overdue(now_ms),
        priority=case.priority,
    )


def report_time(request: admin_pb2.ReportRequest) -> int | None:
    """The report's as-of time, if the request pins one."""
    if not request.HasField("at_ms"):
        return None
    if not request.from_ms <= request.at_ms < MAX_REPORT_MS:
        raise InvalidArgument("at_ms", request.at_ms, f"from_ms ({request.from_ms}) or later (Unix milliseconds)")
    return request.at_ms
