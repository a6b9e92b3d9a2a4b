"""The HashNode service: what a member platform's own systems call (protos/hashnode/v1/client.proto).

Each method converts the request to domain types (validating all of it), calls the ledger, and converts back.
Errors are `node.core.errors` exceptions; `node.server.status` maps them to status codes for every method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
from google.protobuf import message_factory  # type: ignore[import-untyped]

from node.api import convert, match_wire
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.errors import DeadlineExceeded
from node.dueprocess.items import DecisionItem
from node.ledger.export import export_pages
from node.ledger.ledger import Ledger
from node.server.admission import COMMIT_MARGIN_SECONDS, deadline_check

MatchCounter = Callable[[Mapping[str, int]], None]  # hits by label, per answered match call (metrics)
SERVICE = client_pb2.DESCRIPTOR.services_by_name["HashNode"]
# Methods whose behaviour returns the serialized response (bytes): see `node.api.match_wire`.
SERIALIZED = frozenset({"Match", "MatchStream"})


class HashNodeServicer(client_pb2_grpc.HashNodeServicer):  # type: ignore[misc]
    """Register it with `add_to_server`: Match and MatchStream answer serialized bytes."""

    def __init__(
        self,
        ledger: Ledger,
        count_matches: MatchCounter | None = None,
        *,
        count_expired: Callable[[str], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self._count_matches = count_matches
        self._count_expired = count_expired  # method -> counted when a call's deadline stops its work

    def _in_time(self, context: grpc.ServicerContext, method: str, margin: float = 0.0) -> Callable[[], None]:
        """`deadline_check(context, margin)`, counting the calls it stops."""
        check = deadline_check(context, margin)

        def checked() -> None:
            try:
                check()
            except DeadlineExceeded:
                if self._count_expired is not None:
                    self._count_expired(f"/{SERVICE.full_name}/{method}")
                raise

        return checked

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
        result = self.ledger.submit(
            records,
            skip_duplicates=request.skip_duplicates,
            request_id=convert.request_id_from(request),
            # Checked under the authoring lock, just before signing: a caller that gave up (or will have by
            # the time the commit is done) must not find its records committed after it saw DEADLINE_EXCEEDED.
            still_wanted=self._in_time(context, "Submit", COMMIT_MARGIN_SECONDS),
        )
        return convert.submit_response(result)

    def Match(self, request: client_pb2.MatchRequest, context: grpc.ServicerContext) -> bytes:
        return self._match(request)

    def MatchStream(
        self, request_iterator: Iterator[client_pb2.MatchRequest], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        # One response per request, in order. A bad request ends the stream with its status; the responses
        # already sent stand, and the field path says which request it was. Once the call's deadline has passed,
        # no further request is matched.
        in_time = self._in_time(context, "MatchStream")
        for i, request in enumerate(request_iterator):
            in_time()
            yield self._match(request, prefix=f"requests[{i}].")

    def _match(self, request: client_pb2.MatchRequest, prefix: str = "") -> bytes:
        """The serialized MatchResponse."""
        queries, threshold = convert.queries_from_request(
            request, max_batch=self.ledger.settings.max_batch, prefix=prefix
        )
        video_percents = convert.video_thresholds_from_request(request, prefix)
        results = self.ledger.match(queries, threshold, *video_percents)
        if self._count_matches is not None and results.hits:
            self._count_matches(results.label_counts())
        return match_wire.encode(results, convert.record_info_bytes if request.include_records else None)

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


def add_to_server(servicer: HashNodeServicer, server: grpc.Server) -> None:
    """Registers `servicer` as the generated `add_HashNodeServicer_to_server` does, except that Match and
    MatchStream responses, already serialized, are passed to gRPC as they are."""
    handlers = {}
    for method in SERVICE.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        serialize = _passed_through if method.name in SERIALIZED else response_class.SerializeToString
        factory = _FACTORIES[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = factory(
            getattr(servicer, method.name),
            request_deserializer=request_class.FromString,
            response_serializer=serialize,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),))
    server.add_registered_method_handlers(SERVICE.full_name, handlers)


def _passed_through(response: Any) -> bytes:
    """A serialized response as it is; a message (e.g. from a test double) serialized."""
    return response if isinstance(response, bytes) else bytes(response.SerializeToString())


_FACTORIES: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}
