"""The HashNode service: what a member platform's own systems call (protos/hashnode/v1/client.proto).

Each method converts the request to domain types (validating all of it), calls the ledger, and converts back.
Errors are `node.core.errors` exceptions; `node.server.status` maps them to status codes for every method.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.dueprocess.items import DecisionItem
from node.ledger.export import export_pages
from node.ledger.ledger import Ledger


class HashNodeServicer(client_pb2_grpc.HashNodeServicer):  # type: ignore[misc]
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def Submit(
        self, request: client_pb2.SubmitRequest, context: grpc.ServicerContext
    ) -> client_pb2.SubmitResponse:
        settings = self.ledger.settings
        records = convert.records_from_request(
            request,
            taxonomy=self.ledger.taxonomy,
            min_pdq_quality=settings.min_pdq_quality,
            max_batch=settings.max_batch,
        )
        return convert.submit_response(self.ledger.submit(records, skip_duplicates=request.skip_duplicates))

    def Match(
        self, request: client_pb2.MatchRequest, context: grpc.ServicerContext
    ) -> client_pb2.MatchResponse:
        return self._match(request)

    def MatchStream(
        self, request_iterator: Iterator[client_pb2.MatchRequest], context: grpc.ServicerContext
    ) -> Iterator[client_pb2.MatchResponse]:
        # One response per request, in order. A bad request ends the stream with its status; the responses
        # already sent stand, and the field path says which request it was.
        for i, request in enumerate(request_iterator):
            yield self._match(request, prefix=f"requests[{i}].")

    def _match(self, request: client_pb2.MatchRequest, prefix: str = "") -> client_pb2.MatchResponse:
        queries, threshold = convert.queries_from_request(
            request, max_batch=self.ledger.settings.max_batch, prefix=prefix
        )
        return convert.match_response(self.ledger.match(queries, threshold))

    def GetProvenance(
        self, request: client_pb2.ProvenanceRequest, context: grpc.ServicerContext
    ) -> types_pb2.ProvenanceBundle:
        rid = convert.parse_id(request.record_id, "record_id")
        bundle = self.ledger.provenance(rid)
        return convert.bundle_to_proto(bundle, view=self.ledger.record(rid))

    def Retract(
        self, request: client_pb2.RetractRequest, context: grpc.ServicerContext
    ) -> client_pb2.RetractResponse:
        record_ids, reason = convert.retraction_from_request(
            request, max_batch=self.ledger.settings.max_batch
        )
        return convert.retract_response(self.ledger.retract(record_ids, reason))

    def ExportRecords(
        self, request: client_pb2.ExportRequest, context: grpc.ServicerContext
    ) -> Iterator[client_pb2.ExportBatch]:
        member_id = self.ledger.settings.member_id
        selection, after, batch = convert.export_selection_from_request(request, member_id=member_id)
        for page in export_pages(self.ledger.store, selection, after_cursor=after, batch_size=batch):
            if not context.is_active():  # the caller went away: stop reading the store
                return
            yield convert.export_batch(page, member_id=member_id)

    def Opine(
        self, request: client_pb2.OpineRequest, context: grpc.ServicerContext
    ) -> client_pb2.DueProcessResponse:
        rid, stance, reason_code, text = convert.opinion_from_request(request)
        entry = self.ledger.opine(rid, stance, reason_code, text)
        return convert.due_process_response(entry, self.ledger.record(rid))

    def Appeal(
        self, request: client_pb2.AppealRequest, context: grpc.ServicerContext
    ) -> client_pb2.DueProcessResponse:
        rid, case_ref, distance = convert.appeal_from_request(request)
        entry, existing = self.ledger.file_appeal(rid, case_ref, distance)
        return convert.due_process_response(entry, self.ledger.record(rid), existing=existing)

    def Decide(
        self, request: client_pb2.DecideRequest, context: grpc.ServicerContext
    ) -> client_pb2.DueProcessResponse:
        appeal_entry_id, outcome, reason, rid = convert.decision_from_request(request)
        entry = self.ledger.decide(appeal_entry_id, outcome, reason, rid)
        decided = DecisionItem.decode(entry.items[0]).record_id
        return convert.due_process_response(entry, self.ledger.record(decided))
