"""The due-process RPCs of the Admin service (protos/hashnode/v1/admin.proto): reinstatement notices, "why was
this content acted on?", transparency reports. A mixin of `AdminServicer`; everything it needs is the ledger.

These answer from the node's local match log, which holds the platform's own content references: they belong
on the operator's listener, not on the client API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import grpc

from node.api import convert, statement_wire
from node.api.gen.hashnode.v1 import admin_pb2
from node.core.content_ref import check_content_ref
from node.core.errors import InvalidArgument
from node.dueprocess import report
from node.dueprocess.deadlines import check_ruling
from node.dueprocess.items import DecisionItem
from node.dueprocess.matchlog import is_query_id
from node.dueprocess.ruling import SignedRuling
from node.ledger import standing
from node.ledger.cases import open_cases
from node.ledger.ledger import Ledger
from node.ledger.statements import Statements
from node.ledger.transparency import transparency_report
from node.runtime.runtime import NodeRuntime

# How long a watch waits for a commit before it looks again; notices issued in between still arrive, late by
# at most this much.
WATCH_POLL_S = 0.5


class _HasLedger(Protocol):
    @property
    def ledger(self) -> Ledger: ...

    @property
    def runtime(self) -> NodeRuntime: ...

    @property
    def statements(self) -> Statements: ...


class DueProcessAdmin:
    def ListReinstateNotices(
        self: _HasLedger, request: admin_pb2.ListNoticesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListNoticesResponse:
        notices = self.ledger.notices(request.after, convert.notices_limit(request.limit))
        return admin_pb2.ListNoticesResponse(
            notices=[convert.notice_to_proto(n) for n in notices],
            next_after=notices[-1].number if notices else request.after,
        )

    def WatchReinstateNotices(
        self: _HasLedger, request: admin_pb2.WatchNoticesRequest, context: grpc.ServicerContext
    ) -> Iterator[admin_pb2.ReinstateNotice]:
        after = request.after
        stopping = self.runtime.stopping  # set when the node shuts down: end the watch, do not hold the drain
        while context.is_active() and not stopping.is_set():
            notices = self.ledger.notices(after, convert.DEFAULT_NOTICES)
            for notice in notices:
                yield convert.notice_to_proto(notice)
                after = notice.number
            if not notices:
                self.ledger.wait_for_commit(WATCH_POLL_S)

    def ExplainMatch(
        self: _HasLedger, request: admin_pb2.ExplainMatchRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ExplainMatchResponse:
        content_ref = check_content_ref(request.content_ref, "content_ref")
        query_id = request.query_id
        if query_id and not is_query_id(query_id):
            raise InvalidArgument("query_id", query_id, "16 lowercase hex digits (a QueryResult.query_id)")
        explained = self.ledger.explain(content_ref, query_id)
        return convert.explain_response(content_ref, explained, query_id)

    def ListCases(
        self: _HasLedger, request: admin_pb2.ListCasesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListCasesResponse:
        now = self.ledger.clock()
        return admin_pb2.ListCasesResponse(
            cases=[convert.open_case_to_proto(c, now) for c in open_cases(self.ledger, now)], now_ms=now
        )

    def PublishRuling(
        self: _HasLedger, request: admin_pb2.PublishRulingRequest, context: grpc.ServicerContext
    ) -> admin_pb2.PublishRulingResponse:
        signed = SignedRuling.from_json(request.ruling_file)
        entry, existing = self.ledger.publish_ruling(signed)
        item = DecisionItem.decode(entry.items[0])
        authority = standing.authority(self.ledger.record(item.record_id).author, self.ledger.membership)
        record = self.ledger.record(item.record_id)
        return admin_pb2.PublishRulingResponse(
            entry_id=entry.entry_id.hex(),
            seq=entry.header.seq,
            record_id=item.record_id.hex(),
            status=convert.record_status_to_proto(record.status),
            existing=existing,
            signed_by=check_ruling(item, authority),
        )

    def BuildReport(
        self: _HasLedger, request: admin_pb2.ReportRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Report:
        start, end = convert.report_period(request)
        built = transparency_report(self.ledger, report.Period(start, end), convert.report_time(request))
        return admin_pb2.Report(
            json=report.to_json(built), csv=report.to_csv(built), html=report.to_html(built)
        )

    def IssueStatement(
        self: _HasLedger, request: admin_pb2.IssueStatementRequest, context: grpc.ServicerContext
    ) -> admin_pb2.StatementOfReasons:
        issued = self.statements.issue(statement_wire.issue_request_from_proto(request))
        return statement_wire.statement_to_proto(issued.view, existing=issued.existing)

    def GetStatement(
        self: _HasLedger, request: admin_pb2.GetStatementRequest, context: grpc.ServicerContext
    ) -> admin_pb2.StatementOfReasons:
        return statement_wire.statement_to_proto(self.statements.get(request.statement_id))

    def ListStatements(
        self: _HasLedger, request: admin_pb2.ListStatementsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListStatementsResponse:
        views = self.statements.list(request.after, statement_wire.list_limit(request.limit))
        return admin_pb2.ListStatementsResponse(
            statements=[statement_wire.statement_to_proto(v, documents=request.documents) for v in views],
            next_after=views[-1].number if views else request.after,
        )

    def WithdrawStatement(
        self: _HasLedger, request: admin_pb2.WithdrawStatementRequest, context: grpc.ServicerContext
    ) -> admin_pb2.StatementOfReasons:
        return statement_wire.statement_to_proto(self.statements.withdraw(request.statement_id, request.reason))
