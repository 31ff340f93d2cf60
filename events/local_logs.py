#!/usr/bin/env python3
"""A local CloudWatch Logs (moto's server, over HTTP) seeded with the sample, for `make demo-import`.

    python events/local_logs.py events/ -- slo import ... --logs-endpoint-url {endpoint}

Every log event of the sample's Kinesis events (events/stream/) is put into its own log group and stream,
as CloudWatch Logs held them before the subscription shipped them. Then the command after `--` runs with
`{endpoint}` replaced by the server's URL, and the server stops. CloudWatch Logs (and moto) refuse events
older than 14 days, so this process runs moto's clock at the end of the sample day: that is the only
thing it changes.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SAMPLE_END = datetime(2026, 10, 1, 9, 0)  # naive UTC, as moto's utcnow() returns
PUT_EVENTS = 10_000  # PutLogEvents' limit per call (and 1 MiB, which the sample's batches stay under)


def sample_log_events(folder: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(log group, log stream) → log events, from the sample's Kinesis events (duplicates by ID dropped)."""
    streams: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    documents: list[Any] = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonl")):
        text = path.read_text()
        try:
            documents.append(json.loads(text))
        except ValueError:  # JSON Lines: one Lambda event a line
            documents.extend(json.loads(line) for line in text.splitlines() if line.strip())
    for document in documents:
        for record in document.get("Records", []) if isinstance(document, dict) else []:
            try:
                payload = json.loads(gzip.decompress(base64.b64decode(record["kinesis"]["data"])))
            except (KeyError, ValueError, OSError, EOFError):
                continue  # the sample's deliberately malformed records hold no log events
            if payload.get("messageType") != "DATA_MESSAGE":
                continue
            for event in payload["logEvents"]:
                streams[(payload["logGroup"], payload["logStream"])].setdefault(event["id"], event)
    return {key: sorted(events.values(), key=lambda e: e["timestamp"]) for key, events in streams.items()}


def seed(endpoint: str, log_events: dict[tuple[str, str], list[dict[str, Any]]]) -> int:
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    groups = sorted({group for group, _ in log_events})
    for group in groups:
        logs.create_log_group(logGroupName=group)
    count = 0
    for (group, stream), events in sorted(log_events.items()):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for offset in range(0, len(events), PUT_EVENTS):
            part = events[offset : offset + PUT_EVENTS]
            chunk = [{"timestamp": event["timestamp"], "message": event["message"]} for event in part]
            rejected = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
            if rejected.get("rejectedLogEventsInfo"):
                raise SystemExit(f"local_logs: CloudWatch Logs rejected events of {group}: {rejected}")
            count += len(chunk)
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the sample (events/, after `make events`)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND … ({endpoint} is replaced)")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)

    import logging

    import moto.logs.models
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log

    moto.logs.models.utcnow = lambda: SAMPLE_END + timedelta(minutes=1)  # type: ignore[attr-defined]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        log_events = sample_log_events(args.folder)
        count = seed(endpoint, log_events)
        groups = len({group for group, _ in log_events})
        print(f"local CloudWatch Logs at {endpoint}: {count} log events in {groups} log groups, "
              f"{len(log_events)} log streams", file=sys.stderr)
        if not command:
            return 0
        return subprocess.call([part.replace("{endpoint}", endpoint) for part in command])
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
