"""Statements of reasons on the wire (protos/hashnode/v1/admin.proto, IssueStatement and its siblings)."""

from __future__ import annotations

from node.api.convert import notices_limit, parse_id, record_status_to_proto
from node.api.gen.hashnode.v1 import admin_pb2, types_pb2
from node.core.content_ref import check_content_ref
from node.core.errors import InvalidArgument
from node.dueprocess.statement import DecisionRequest
from node.ledger.statements import IssueRequest, StatementView

MAX_RECORDS = 64  # records one decision rests on


def decision_from_proto(msg: admin_pb2.StatementDecision) -> DecisionRequest:
    """The decision as given; `node.dueprocess.statement.resolve` checks it against the matches."""
    return DecisionRequest(
        automated_decision=msg.automated_decision,
        visibility=tuple(msg.visibility),
        visibility_other=msg.visibility_other,
        visibility_end_date=msg.visibility_end_date,
        monetary=msg.monetary,
        monetary_other=msg.monetary_other,
        monetary_end_date=msg.monetary_end_date,
        provision=msg.provision,
        provision_end_date=msg.provision_end_date,
        account=msg.account,
        account_end_date=msg.account_end_date,
        account_type=msg.account_type,
        application_date=msg.application_date,
        content_date=msg.content_date,
        content_type=tuple(msg.content_type),
        content_type_other=msg.content_type_other,
        content_language=msg.content_language,
        source=msg.source,
        source_identity=msg.source_identity,
        ground=msg.ground,
        territorial_scope=tuple(msg.territorial_scope),
        puid=msg.puid,
        language=msg.language,
    )


def decision_to_proto(decision: DecisionRequest) -> admin_pb2.StatementDecision:
    return admin_pb2.StatementDecision(
        automated_decision=decision.automated_decision,
        visibility=decision.visibility,
        visibility_other=decision.visibility_other,
        visibility_end_date=decision.visibility_end_date,
        monetary=decision.monetary,
        monetary_other=decision.monetary_other,
        monetary_end_date=decision.monetary_end_date,
        provision=decision.provision,
        provision_end_date=decision.provision_end_date,
        account=decision.account,
        account_end_date=decision.account_end_date,
        account_type=decision.account_type,
        application_date=decision.application_date,
        content_date=decision.content_date,
        content_type=decision.content_type,
        content_type_other=decision.content_type_other,
        content_language=decision.content_language,
        source=decision.source,
        source_identity=decision.source_identity,
        ground=decision.ground,
        territorial_scope=decision.territorial_scope,
        puid=decision.puid,
        language=decision.language,
    )


def issue_request_from_proto(request: admin_pb2.IssueStatementRequest) -> IssueRequest:
    """Raises: InvalidArgument (a field is malformed)."""
    if len(request.record_ids) > MAX_RECORDS:
        raise InvalidArgument("record_ids", f"{len(request.record_ids)} ids", f"at most {MAX_RECORDS}")
    return IssueRequest(
        content_ref=check_content_ref(request.content_ref, "content_ref"),
        query_id=request.query_id,
        record_ids=tuple(dict.fromkeys(parse_id(r, "record_ids") for r in request.record_ids)),
        decision=decision_from_proto(request.decision),
        supersedes=request.supersedes,
    )


def list_limit(limit: int) -> int:
    return notices_limit(limit)


def statement_to_proto(
    view: StatementView, *, existing: bool = False, documents: bool = True
) -> admin_pb2.StatementOfReasons:
    statement = view.statement
    msg = admin_pb2.StatementOfReasons(
        statement_id=statement.statement_id,
        puid=statement.puid,
        number=view.number,
        issued_at_ms=statement.issued_ms,
        status=statement.status,
        content_ref=statement.content_ref,
        query_ids=statement.query_ids,
        basis_stands=view.basis_stands,
        language=statement.decision.language,
        category=statement.category,
        supersedes=statement.supersedes,
        superseded_by=statement.superseded_by,
        withdrawn_at_ms=statement.withdrawn_ms,
        withdrawal_reason=statement.withdrawal_reason,
        existing=existing,
    )
    if documents:
        msg.database_json, msg.user_page_html = statement.database_json, statement.page_html
    for b in statement.basis:
        status = view.record_statuses.get(b.record_id)
        msg.basis.append(
            admin_pb2.StatementBasis(
                record_id=b.record_id.hex(),
                contributor=b.contributor,
                contributor_name=b.contributor_name,
                labels=b.labels,
                contributed_at_ms=b.contributed_ms,
                matched_at_ms=b.matched_ms,
                distance=b.distance,
                status=record_status_to_proto(status) if status is not None else types_pb2.RECORD_STATUS_UNSPECIFIED,
            )
        )
    for a in view.appeals:
        msg.appeals.append(
            admin_pb2.StatementAppeal(
                appeal_entry_id=a.appeal_entry_id.hex(),
                record_id=a.record_id.hex(),
                case_ref=a.case_ref,
                filed_at_ms=a.filed_ms,
                outcome=a.outcome,
                decided_by=a.decided_by,
            )
        )
    return msg
