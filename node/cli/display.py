"""How the CLI shows ids, times and records to a person."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from node.api.gen.hashnode.v1 import client_pb2, types_pb2


def utc(timestamp_ms: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.000Z."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def status_name(status: int) -> str:
    return str(types_pb2.RecordStatus.Name(status)).removeprefix("RECORD_STATUS_").lower()


def record_line(info: types_pb2.RecordInfo) -> str:
    """One line describing a stored record: id, author, labels, status."""
    labels = ",".join(info.record.labels)
    return f"record {info.record_id}  by {info.author}  [{labels}]  {status_name(info.status)}"


def record_info_json(info: types_pb2.RecordInfo) -> dict[str, object]:
    """A stored record for `--json` output; a vpdq record's features as `video` (`VpdqFeatures.as_json`)."""
    record = info.record
    shown: dict[str, object] = {
        "record_id": info.record_id,
        "signal_type": record.signal_type,
        "value": record.value,
        "quality": record.quality,
        "labels": list(record.labels),
        "tags": list(record.tags),
        "reference": record.reference,
        "source": record.source,
        "author": info.author,
        "entry_id": info.entry_id,
        "seq": info.seq,
        "index": info.index,
        "contributed_at_ms": info.contributed_at_ms,
        "status": status_name(info.status),
    }
    if record.HasField("video") and not record.video.frames:  # a match's record: its frames left out
        shown["video"] = {"frames": info.video_frames, "interval_ms": record.video.interval_ms}
    elif record.HasField("video"):
        from node.api import convert  # only for videos: the CLI's start-up imports as little as it can

        shown["video"] = convert.features_from_proto(record.video, "record.video").as_json()
    return shown


def due_process_json(response: client_pb2.DueProcessResponse) -> dict[str, object]:
    shown: dict[str, object] = {
        "entry_id": response.entry_id,
        "seq": response.seq,
        "record_id": response.record_id,
        "status": status_name(response.status),
    }
    if response.decided_as:
        shown["decided_as"] = response.decided_as
    if response.existing:
        shown["existing"] = True
    return shown


def print_due_process(what: str, response: client_pb2.DueProcessResponse, as_json: bool) -> None:
    """What an Opine/Appeal/Decide call signed, and the record's status on the node afterwards."""
    if as_json:
        json.dump(due_process_json(response), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    capacity = f" as {response.decided_as}" if response.decided_as else ""
    if response.existing:
        print(f"{what} filed before: entry {response.entry_id} (seq {response.seq}); nothing new was signed")
    else:
        print(f"signed {what}{capacity} as entry {response.entry_id} (seq {response.seq})")
    print(f"  record {response.record_id} is now {status_name(response.status)} on this node")


def video_line(video: client_pb2.VideoMatch) -> str:
    """A video match's two percentages (vPDQ's rule: both must reach their thresholds)."""
    return f"video {video.query_match_percent:5.1f}% of query, {video.compared_match_percent:5.1f}% of stored"


def video_ranges_line(video: client_pb2.VideoMatch) -> str:
    return f"matched: query {_ranges(video.query_ranges)}; stored {_ranges(video.stored_ranges)}"


def _ranges(ranges: Sequence[client_pb2.TimeRange]) -> str:
    return ", ".join(f"{clock(r.start_ms)}-{clock(r.end_ms)}" for r in ranges) or "none"


def clock(ms: int) -> str:
    """`m:ss.mmm` (`h:mm:ss.mmm` from an hour)."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}:{minutes:02d}" if hours else f"{minutes}") + f":{seconds:02d}.{millis:03d}"


def video_json(video: client_pb2.VideoMatch) -> dict[str, object]:
    return {
        "query_match_percent": video.query_match_percent,
        "compared_match_percent": video.compared_match_percent,
        "query_ranges": [[r.start_ms, r.end_ms] for r in video.query_ranges],
        "stored_ranges": [[r.start_ms, r.end_ms] for r in video.stored_ranges],
    }
