from node.api.gen.hashnode.v1 import client_pb2 as _client_pb2
from node.api.gen.hashnode.v1 import membership_pb2 as _membership_pb2
from node.api.gen.hashnode.v1 import types_pb2 as _types_pb2
from node.api.gen.hashnode.v1 import peer_pb2 as _peer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListCasesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OpenCase(_message.Message):
    __slots__ = ("kind", "role", "record_id", "case_id", "case_ref", "contributor", "contributor_contact", "opened_by", "opened_by_contact", "opened_at_ms", "deadline_ms", "overdue", "priority")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_REF_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_CONTACT_FIELD_NUMBER: _ClassVar[int]
    OPENED_BY_FIELD_NUMBER: _ClassVar[int]
    OPENED_BY_CONTACT_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    kind: str
    role: str
    record_id: str
    case_id: str
    case_ref: str
    contributor: str
    contributor_contact: str
    opened_by: str
    opened_by_contact: str
    opened_at_ms: int
    deadline_ms: int
    overdue: bool
    priority: str
    def __init__(self, kind: _Optional[str] = ..., role: _Optional[str] = ..., record_id: _Optional[str] = ..., case_id: _Optional[str] = ..., case_ref: _Optional[str] = ..., contributor: _Optional[str] = ..., contributor_contact: _Optional[str] = ..., opened_by: _Optional[str] = ..., opened_by_contact: _Optional[str] = ..., opened_at_ms: _Optional[int] = ..., deadline_ms: _Optional[int] = ..., overdue: _Optional[bool] = ..., priority: _Optional[str] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "now_ms")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[OpenCase]
    now_ms: int
    def __init__(self, cases: _Optional[_Iterable[_Union[OpenCase, _Mapping]]] = ..., now_ms: _Optional[int] = ...) -> None: ...

class PublishRulingRequest(_message.Message):
    __slots__ = ("ruling_file",)
    RULING_FILE_FIELD_NUMBER: _ClassVar[int]
    ruling_file: str
    def __init__(self, ruling_file: _Optional[str] = ...) -> None: ...

class PublishRulingResponse(_message.Message):
    __slots__ = ("entry_id", "seq", "record_id", "status", "existing", "signed_by")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    SIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    seq: int
    record_id: str
    status: _types_pb2.RecordStatus
    existing: bool
    signed_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entry_id: _Optional[str] = ..., seq: _Optional[int] = ..., record_id: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.RecordStatus, str]] = ..., existing: _Optional[bool] = ..., signed_by: _Optional[_Iterable[str]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Count(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Stats(_message.Message):
    __slots__ = ("member_id", "consortium_id", "records", "entries", "records_by_type", "records_by_label", "records_by_author", "index_bytes", "disk_bytes", "map_bytes")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_LABEL_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAP_BYTES_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    consortium_id: str
    records: int
    entries: int
    records_by_type: _containers.RepeatedCompositeFieldContainer[Count]
    records_by_label: _containers.RepeatedCompositeFieldContainer[Count]
    records_by_author: _containers.RepeatedCompositeFieldContainer[Count]
    index_bytes: int
    disk_bytes: int
    map_bytes: int
    def __init__(self, member_id: _Optional[str] = ..., consortium_id: _Optional[str] = ..., records: _Optional[int] = ..., entries: _Optional[int] = ..., records_by_type: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., records_by_label: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., records_by_author: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., index_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., map_bytes: _Optional[int] = ...) -> None: ...

class GetRosterRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StewardInfo(_message.Message):
    __slots__ = ("name", "key_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    key_id: str
    def __init__(self, name: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class RosterMemberInfo(_message.Message):
    __slots__ = ("member_id", "organisation", "contact", "endpoint", "roles", "status", "status_version", "revoked_after_ms", "key_ids", "tls_fingerprints", "endpoints")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    TLS_FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    organisation: str
    contact: str
    endpoint: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    status: str
    status_version: int
    revoked_after_ms: int
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    tls_fingerprints: _containers.RepeatedScalarFieldContainer[str]
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, member_id: _Optional[str] = ..., organisation: _Optional[str] = ..., contact: _Optional[str] = ..., endpoint: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., status_version: _Optional[int] = ..., revoked_after_ms: _Optional[int] = ..., key_ids: _Optional[_Iterable[str]] = ..., tls_fingerprints: _Optional[_Iterable[str]] = ..., endpoints: _Optional[_Iterable[str]] = ...) -> None: ...

class RosterInfo(_message.Message):
    __slots__ = ("consortium_id", "version", "roster_id", "expires_ms", "expired", "threshold", "stewards", "members", "signed", "changed")
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROSTER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    STEWARDS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    consortium_id: str
    version: int
    roster_id: str
    expires_ms: int
    expired: bool
    threshold: int
    stewards: _containers.RepeatedCompositeFieldContainer[StewardInfo]
    members: _containers.RepeatedCompositeFieldContainer[RosterMemberInfo]
    signed: _membership_pb2.SignedRoster
    changed: bool
    def __init__(self, consortium_id: _Optional[str] = ..., version: _Optional[int] = ..., roster_id: _Optional[str] = ..., expires_ms: _Optional[int] = ..., expired: _Optional[bool] = ..., threshold: _Optional[int] = ..., stewards: _Optional[_Iterable[_Union[StewardInfo, _Mapping]]] = ..., members: _Optional[_Iterable[_Union[RosterMemberInfo, _Mapping]]] = ..., signed: _Optional[_Union[_membership_pb2.SignedRoster, _Mapping]] = ..., changed: _Optional[bool] = ...) -> None: ...

class SubmitRosterRequest(_message.Message):
    __slots__ = ("roster",)
    ROSTER_FIELD_NUMBER: _ClassVar[int]
    roster: _membership_pb2.SignedRoster
    def __init__(self, roster: _Optional[_Union[_membership_pb2.SignedRoster, _Mapping]] = ...) -> None: ...

class PurgeMemberRequest(_message.Message):
    __slots__ = ("member_id", "reason")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    reason: str
    def __init__(self, member_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PurgeMemberResponse(_message.Message):
    __slots__ = ("records_suspended",)
    RECORDS_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    records_suspended: int
    def __init__(self, records_suspended: _Optional[int] = ...) -> None: ...

class AddPeerRequest(_message.Message):
    __slots__ = ("name", "address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class AddPeerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemovePeerRequest(_message.Message):
    __slots__ = ("name", "reset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    name: str
    reset: bool
    def __init__(self, name: _Optional[str] = ..., reset: _Optional[bool] = ...) -> None: ...

class RemovePeerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: int
    def __init__(self, peers: _Optional[int] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ("directory",)
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    directory: str
    def __init__(self, directory: _Optional[str] = ...) -> None: ...

class BackupResponse(_message.Message):
    __slots__ = ("directory", "bytes", "records", "entries", "roster_version", "taken_at_ms")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_MS_FIELD_NUMBER: _ClassVar[int]
    directory: str
    bytes: int
    records: int
    entries: int
    roster_version: int
    taken_at_ms: int
    def __init__(self, directory: _Optional[str] = ..., bytes: _Optional[int] = ..., records: _Optional[int] = ..., entries: _Optional[int] = ..., roster_version: _Optional[int] = ..., taken_at_ms: _Optional[int] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Policy(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerInfo(_message.Message):
    __slots__ = ("name", "address", "state", "member_id", "last_sync_ms", "last_error", "lag_entries", "applied", "rejected", "source", "refused")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAG_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    state: str
    member_id: str
    last_sync_ms: int
    last_error: str
    lag_entries: int
    applied: int
    rejected: int
    source: str
    refused: _containers.RepeatedCompositeFieldContainer[RefusedLog]
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., state: _Optional[str] = ..., member_id: _Optional[str] = ..., last_sync_ms: _Optional[int] = ..., last_error: _Optional[str] = ..., lag_entries: _Optional[int] = ..., applied: _Optional[int] = ..., rejected: _Optional[int] = ..., source: _Optional[str] = ..., refused: _Optional[_Iterable[_Union[RefusedLog, _Mapping]]] = ...) -> None: ...

class RefusedLog(_message.Message):
    __slots__ = ("author", "from_seq", "reason", "detail", "entries")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    author: str
    from_seq: int
    reason: str
    detail: str
    entries: int
    def __init__(self, author: _Optional[str] = ..., from_seq: _Optional[int] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., entries: _Optional[int] = ...) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerInfo]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerInfo, _Mapping]]] = ...) -> None: ...

class ListEvidenceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EvidenceInfo(_message.Message):
    __slots__ = ("evidence_id", "author", "seq", "kind", "evidence")
    EVIDENCE_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    evidence_id: bytes
    author: str
    seq: int
    kind: str
    evidence: _peer_pb2.ForkEvidence
    def __init__(self, evidence_id: _Optional[bytes] = ..., author: _Optional[str] = ..., seq: _Optional[int] = ..., kind: _Optional[str] = ..., evidence: _Optional[_Union[_peer_pb2.ForkEvidence, _Mapping]] = ...) -> None: ...

class ListEvidenceResponse(_message.Message):
    __slots__ = ("evidence",)
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    evidence: _containers.RepeatedCompositeFieldContainer[EvidenceInfo]
    def __init__(self, evidence: _Optional[_Iterable[_Union[EvidenceInfo, _Mapping]]] = ...) -> None: ...

class ReplicationStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReplicationState(_message.Message):
    __slots__ = ("state_digest", "heads", "convicted_authors", "evidence", "gap_buffered", "pending", "rejected", "authoring_blocked_reason", "undecodable", "refused_logs")
    STATE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    HEADS_FIELD_NUMBER: _ClassVar[int]
    CONVICTED_AUTHORS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    GAP_BUFFERED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    AUTHORING_BLOCKED_REASON_FIELD_NUMBER: _ClassVar[int]
    UNDECODABLE_FIELD_NUMBER: _ClassVar[int]
    REFUSED_LOGS_FIELD_NUMBER: _ClassVar[int]
    state_digest: bytes
    heads: _containers.RepeatedCompositeFieldContainer[_peer_pb2.AuthorHead]
    convicted_authors: _containers.RepeatedScalarFieldContainer[str]
    evidence: int
    gap_buffered: int
    pending: int
    rejected: _containers.RepeatedCompositeFieldContainer[Count]
    authoring_blocked_reason: str
    undecodable: _containers.RepeatedCompositeFieldContainer[Count]
    refused_logs: _containers.RepeatedCompositeFieldContainer[RefusedLog]
    def __init__(self, state_digest: _Optional[bytes] = ..., heads: _Optional[_Iterable[_Union[_peer_pb2.AuthorHead, _Mapping]]] = ..., convicted_authors: _Optional[_Iterable[str]] = ..., evidence: _Optional[int] = ..., gap_buffered: _Optional[int] = ..., pending: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., authoring_blocked_reason: _Optional[str] = ..., undecodable: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., refused_logs: _Optional[_Iterable[_Union[RefusedLog, _Mapping]]] = ...) -> None: ...

class ReinstateNotice(_message.Message):
    __slots__ = ("number", "issued_at_ms", "cause_record_id", "standing", "content_ref", "overturned_record_ids", "still_matched_record_ids", "query_ids", "first_matched_ms", "last_matched_ms", "cleared", "statement_ids", "videos")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    STANDING_FIELD_NUMBER: _ClassVar[int]
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    OVERTURNED_RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    STILL_MATCHED_RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_MATCHED_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_MATCHED_MS_FIELD_NUMBER: _ClassVar[int]
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    number: int
    issued_at_ms: int
    cause_record_id: str
    standing: str
    content_ref: str
    overturned_record_ids: _containers.RepeatedScalarFieldContainer[str]
    still_matched_record_ids: _containers.RepeatedScalarFieldContainer[str]
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    first_matched_ms: int
    last_matched_ms: int
    cleared: bool
    statement_ids: _containers.RepeatedScalarFieldContainer[str]
    videos: _containers.RepeatedCompositeFieldContainer[NoticeVideoMatch]
    def __init__(self, number: _Optional[int] = ..., issued_at_ms: _Optional[int] = ..., cause_record_id: _Optional[str] = ..., standing: _Optional[str] = ..., content_ref: _Optional[str] = ..., overturned_record_ids: _Optional[_Iterable[str]] = ..., still_matched_record_ids: _Optional[_Iterable[str]] = ..., query_ids: _Optional[_Iterable[str]] = ..., first_matched_ms: _Optional[int] = ..., last_matched_ms: _Optional[int] = ..., cleared: _Optional[bool] = ..., statement_ids: _Optional[_Iterable[str]] = ..., videos: _Optional[_Iterable[_Union[NoticeVideoMatch, _Mapping]]] = ...) -> None: ...

class NoticeVideoMatch(_message.Message):
    __slots__ = ("query_id", "record_id", "video")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    record_id: str
    video: _client_pb2.VideoMatch
    def __init__(self, query_id: _Optional[str] = ..., record_id: _Optional[str] = ..., video: _Optional[_Union[_client_pb2.VideoMatch, _Mapping]] = ...) -> None: ...

class ListNoticesRequest(_message.Message):
    __slots__ = ("after", "limit")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after: int
    limit: int
    def __init__(self, after: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListNoticesResponse(_message.Message):
    __slots__ = ("notices", "next_after")
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[ReinstateNotice]
    next_after: int
    def __init__(self, notices: _Optional[_Iterable[_Union[ReinstateNotice, _Mapping]]] = ..., next_after: _Optional[int] = ...) -> None: ...

class WatchNoticesRequest(_message.Message):
    __slots__ = ("after",)
    AFTER_FIELD_NUMBER: _ClassVar[int]
    after: int
    def __init__(self, after: _Optional[int] = ...) -> None: ...

class ExplainMatchRequest(_message.Message):
    __slots__ = ("content_ref", "query_id")
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    content_ref: str
    query_id: str
    def __init__(self, content_ref: _Optional[str] = ..., query_id: _Optional[str] = ...) -> None: ...

class MatchExplanation(_message.Message):
    __slots__ = ("matched_at_ms", "distance", "query_id", "record", "bundle", "video")
    MATCHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    matched_at_ms: int
    distance: int
    query_id: str
    record: _types_pb2.RecordInfo
    bundle: _types_pb2.ProvenanceBundle
    video: _client_pb2.VideoMatch
    def __init__(self, matched_at_ms: _Optional[int] = ..., distance: _Optional[int] = ..., query_id: _Optional[str] = ..., record: _Optional[_Union[_types_pb2.RecordInfo, _Mapping]] = ..., bundle: _Optional[_Union[_types_pb2.ProvenanceBundle, _Mapping]] = ..., video: _Optional[_Union[_client_pb2.VideoMatch, _Mapping]] = ...) -> None: ...

class ExplainMatchResponse(_message.Message):
    __slots__ = ("content_ref", "query_id", "matches")
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    content_ref: str
    query_id: str
    matches: _containers.RepeatedCompositeFieldContainer[MatchExplanation]
    def __init__(self, content_ref: _Optional[str] = ..., query_id: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[MatchExplanation, _Mapping]]] = ...) -> None: ...

class ReportRequest(_message.Message):
    __slots__ = ("from_ms", "to_ms", "at_ms")
    FROM_MS_FIELD_NUMBER: _ClassVar[int]
    TO_MS_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    from_ms: int
    to_ms: int
    at_ms: int
    def __init__(self, from_ms: _Optional[int] = ..., to_ms: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("json", "csv", "html")
    JSON_FIELD_NUMBER: _ClassVar[int]
    CSV_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    json: str
    csv: str
    html: str
    def __init__(self, json: _Optional[str] = ..., csv: _Optional[str] = ..., html: _Optional[str] = ...) -> None: ...

class IssueStatementRequest(_message.Message):
    __slots__ = ("content_ref", "query_id", "record_ids", "decision", "supersedes")
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_FIELD_NUMBER: _ClassVar[int]
    content_ref: str
    query_id: str
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    decision: StatementDecision
    supersedes: str
    def __init__(self, content_ref: _Optional[str] = ..., query_id: _Optional[str] = ..., record_ids: _Optional[_Iterable[str]] = ..., decision: _Optional[_Union[StatementDecision, _Mapping]] = ..., supersedes: _Optional[str] = ...) -> None: ...

class StatementDecision(_message.Message):
    __slots__ = ("automated_decision", "visibility", "visibility_other", "visibility_end_date", "monetary", "monetary_other", "monetary_end_date", "provision", "provision_end_date", "account", "account_end_date", "account_type", "application_date", "content_date", "content_type", "content_type_other", "content_language", "source", "source_identity", "ground", "territorial_scope", "puid", "language")
    AUTOMATED_DECISION_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_OTHER_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_END_DATE_FIELD_NUMBER: _ClassVar[int]
    MONETARY_FIELD_NUMBER: _ClassVar[int]
    MONETARY_OTHER_FIELD_NUMBER: _ClassVar[int]
    MONETARY_END_DATE_FIELD_NUMBER: _ClassVar[int]
    PROVISION_FIELD_NUMBER: _ClassVar[int]
    PROVISION_END_DATE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_END_DATE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_TYPE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_OTHER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    GROUND_FIELD_NUMBER: _ClassVar[int]
    TERRITORIAL_SCOPE_FIELD_NUMBER: _ClassVar[int]
    PUID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    automated_decision: str
    visibility: _containers.RepeatedScalarFieldContainer[str]
    visibility_other: str
    visibility_end_date: str
    monetary: str
    monetary_other: str
    monetary_end_date: str
    provision: str
    provision_end_date: str
    account: str
    account_end_date: str
    account_type: str
    application_date: str
    content_date: str
    content_type: _containers.RepeatedScalarFieldContainer[str]
    content_type_other: str
    content_language: str
    source: str
    source_identity: str
    ground: str
    territorial_scope: _containers.RepeatedScalarFieldContainer[str]
    puid: str
    language: str
    def __init__(self, automated_decision: _Optional[str] = ..., visibility: _Optional[_Iterable[str]] = ..., visibility_other: _Optional[str] = ..., visibility_end_date: _Optional[str] = ..., monetary: _Optional[str] = ..., monetary_other: _Optional[str] = ..., monetary_end_date: _Optional[str] = ..., provision: _Optional[str] = ..., provision_end_date: _Optional[str] = ..., account: _Optional[str] = ..., account_end_date: _Optional[str] = ..., account_type: _Optional[str] = ..., application_date: _Optional[str] = ..., content_date: _Optional[str] = ..., content_type: _Optional[_Iterable[str]] = ..., content_type_other: _Optional[str] = ..., content_language: _Optional[str] = ..., source: _Optional[str] = ..., source_identity: _Optional[str] = ..., ground: _Optional[str] = ..., territorial_scope: _Optional[_Iterable[str]] = ..., puid: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class StatementBasis(_message.Message):
    __slots__ = ("record_id", "contributor", "contributor_name", "labels", "contributed_at_ms", "matched_at_ms", "distance", "status")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    contributor: str
    contributor_name: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    contributed_at_ms: int
    matched_at_ms: int
    distance: int
    status: _types_pb2.RecordStatus
    def __init__(self, record_id: _Optional[str] = ..., contributor: _Optional[str] = ..., contributor_name: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., contributed_at_ms: _Optional[int] = ..., matched_at_ms: _Optional[int] = ..., distance: _Optional[int] = ..., status: _Optional[_Union[_types_pb2.RecordStatus, str]] = ...) -> None: ...

class StatementAppeal(_message.Message):
    __slots__ = ("appeal_entry_id", "record_id", "case_ref", "filed_at_ms", "outcome", "decided_by")
    APPEAL_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_REF_FIELD_NUMBER: _ClassVar[int]
    FILED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    appeal_entry_id: str
    record_id: str
    case_ref: str
    filed_at_ms: int
    outcome: str
    decided_by: str
    def __init__(self, appeal_entry_id: _Optional[str] = ..., record_id: _Optional[str] = ..., case_ref: _Optional[str] = ..., filed_at_ms: _Optional[int] = ..., outcome: _Optional[str] = ..., decided_by: _Optional[str] = ...) -> None: ...

class StatementOfReasons(_message.Message):
    __slots__ = ("statement_id", "puid", "number", "issued_at_ms", "status", "content_ref", "query_ids", "basis", "basis_stands", "database_json", "user_page_html", "language", "category", "supersedes", "superseded_by", "withdrawn_at_ms", "withdrawal_reason", "appeals", "existing")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PUID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    BASIS_STANDS_FIELD_NUMBER: _ClassVar[int]
    DATABASE_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_PAGE_HTML_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_BY_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_AT_MS_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_REASON_FIELD_NUMBER: _ClassVar[int]
    APPEALS_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    puid: str
    number: int
    issued_at_ms: int
    status: str
    content_ref: str
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    basis: _containers.RepeatedCompositeFieldContainer[StatementBasis]
    basis_stands: bool
    database_json: str
    user_page_html: str
    language: str
    category: str
    supersedes: str
    superseded_by: str
    withdrawn_at_ms: int
    withdrawal_reason: str
    appeals: _containers.RepeatedCompositeFieldContainer[StatementAppeal]
    existing: bool
    def __init__(self, statement_id: _Optional[str] = ..., puid: _Optional[str] = ..., number: _Optional[int] = ..., issued_at_ms: _Optional[int] = ..., status: _Optional[str] = ..., content_ref: _Optional[str] = ..., query_ids: _Optional[_Iterable[str]] = ..., basis: _Optional[_Iterable[_Union[StatementBasis, _Mapping]]] = ..., basis_stands: _Optional[bool] = ..., database_json: _Optional[str] = ..., user_page_html: _Optional[str] = ..., language: _Optional[str] = ..., category: _Optional[str] = ..., supersedes: _Optional[str] = ..., superseded_by: _Optional[str] = ..., withdrawn_at_ms: _Optional[int] = ..., withdrawal_reason: _Optional[str] = ..., appeals: _Optional[_Iterable[_Union[StatementAppeal, _Mapping]]] = ..., existing: _Optional[bool] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("statement_id",)
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    def __init__(self, statement_id: _Optional[str] = ...) -> None: ...

class ListStatementsRequest(_message.Message):
    __slots__ = ("after", "limit", "documents")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    after: int
    limit: int
    documents: bool
    def __init__(self, after: _Optional[int] = ..., limit: _Optional[int] = ..., documents: _Optional[bool] = ...) -> None: ...

class ListStatementsResponse(_message.Message):
    __slots__ = ("statements", "next_after")
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    statements: _containers.RepeatedCompositeFieldContainer[StatementOfReasons]
    next_after: int
    def __init__(self, statements: _Optional[_Iterable[_Union[StatementOfReasons, _Mapping]]] = ..., next_after: _Optional[int] = ...) -> None: ...

class WithdrawStatementRequest(_message.Message):
    __slots__ = ("statement_id", "reason")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    reason: str
    def __init__(self, statement_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
