"""Real log shapes, made by the tools that make them, for the shape table test and `python -m tests.shapes`.

Line shapes are lists of CloudWatch log messages: Powertools Logger output captured from a handler run,
Lambda's JSON log format (runtime envelope around a `console.log(JSON.stringify(...))` line, per the AWS
docs: it cannot run here), Lambda platform lines, API Gateway access logs rendered from the stack's own
format (sam/template.yaml), and schema v1. History shapes are files: the awslogs envelope, Firehose output
and filter-log-events / get-log-events output, made by moto's CloudWatch Logs, Firehose and S3 over HTTP
(see `history_files`), plus the checked-in samples of tests/samples/ (each names the command that made it).

`python -m tests.shapes` prints the SLI events each shape yields through the ingest path (Kinesis envelope)
and through `slo replay` (file): the before/after table of issue #13.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from tests.builders import T0, cid, cw_payload, gz, iso, kinesis_event, kinesis_record, log_line

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "samples"
XRAY_ENV = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
XRAY_TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"


class _FixedClock(logging.Filter):
    """Stamps records at T0 + n seconds so the captured lines land in a known minute."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def filter(self, record: logging.LogRecord) -> bool:
        record.created = T0 + self.n
        record.msecs = 0.0
        self.n += 1
        return True


class LambdaContext:
    function_name = "gha-api"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gha-api"
    aws_request_id = "52fdfc07-2182-454f-963f-5f0f9a621d72"


def powertools_lines() -> list[str]:
    return list(_powertools_lines())


@contextmanager
def _powertools_logger(service: str) -> Iterator[tuple[Any, io.StringIO]]:
    """A Powertools Logger of `service` writing to a string, on the fixed clock, with an X-Ray trace ID in the
    environment as in a Lambda (restored after)."""
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    previous = os.environ.get("_X_AMZN_TRACE_ID")
    os.environ["_X_AMZN_TRACE_ID"] = XRAY_ENV
    logger = Logger(service=service, stream=stream)
    clock = _FixedClock()
    logger.registered_handler.addFilter(clock)
    try:
        yield logger, stream
    finally:
        logger.registered_handler.removeFilter(clock)
        if previous is None:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        else:
            os.environ["_X_AMZN_TRACE_ID"] = previous


@cache  # Powertools keeps one handler per service name: a second Logger("Api") would not get a new stream
def _powertools_lines() -> tuple[str, ...]:
    """Powertools Logger output from a handler run: `correlation_id_path`, `extra=` at top level and under
    `metadata`, X-Ray trace ID, Powertools' own timestamp format. 3 api_request (one 5xx, one without a
    correlation ID) + 2 workflow_completed (one success)."""
    from aws_lambda_powertools.logging import correlation_paths

    with _powertools_logger("Api") as (logger, stream):

        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
        def handler(event: dict[str, Any], context: Any) -> None:
            logger.info("GET /runs", extra={"action": "api_request", "status": event["status"], "duration": 12})
            if event["status"] == 200:
                logger.info(
                    "workflow done",
                    extra={"metadata": {"action": "workflow_completed", "conclusion": event["conclusion"]}},
                )

        handler({"requestContext": {"requestId": cid(1)}, "status": 200, "conclusion": "success"}, LambdaContext())
        handler({"requestContext": {"requestId": cid(2)}, "status": 503}, LambdaContext())
        handler({"requestContext": {"requestId": cid(3)}, "status": 200, "conclusion": "failure"}, LambdaContext())
        handler({"requestContext": {}, "status": 502}, LambdaContext())  # no ID at that path
    return tuple(line for line in stream.getvalue().splitlines() if line.strip())


def powertools_dict_message_lines() -> list[str]:
    return list(_powertools_dict_message_lines())


@cache  # as _powertools_lines: one handler per service name, so this shape logs as a service of its own
def _powertools_dict_message_lines() -> tuple[str, ...]:
    """Powertools Logger output for dict messages (`logger.info({"action": ...})`), which it writes as a JSON
    object in `message`: with a correlation ID from `correlation_id_path` and from `set_correlation_id`, without
    one, with `extra=` keys beside it (one `status` that overrides the message's), and a JSON-string message,
    which Powertools decodes into an object too. 5 api_request (three 5xx, one without a correlation ID) + 1
    workflow_completed (success)."""
    from aws_lambda_powertools.logging import correlation_paths

    with _powertools_logger("Billing") as (logger, stream):

        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
        def handler(event: dict[str, Any], context: Any) -> None:
            logger.info({"action": "api_request", "status": event["status"], "duration": 12, "path": "/invoices"})

        handler({"requestContext": {"requestId": cid(41)}, "status": 200}, LambdaContext())
        handler({"requestContext": {"requestId": cid(42)}, "status": 503}, LambdaContext())
        handler({"requestContext": {}, "status": 502}, LambdaContext())  # no ID at that path
        logger.set_correlation_id(cid(43))
        logger.info({"action": "api_request", "status": 200}, extra={"status": 504, "route": "/invoices/{id}"})
        logger.info(json.dumps({"action": "api_request", "status": 201}))
        logger.info({"action": "workflow_completed", "conclusion": "success"}, extra={"runId": "7"})
    return tuple(line for line in stream.getvalue().splitlines() if line.strip())


@cache  # as _powertools_lines
def powertools_dict_message_with_secrets() -> str:
    """One Powertools line whose dict message carries secrets: in a key and a value of an allow-listed `error`,
    a `path`'s query string, and keys that are not allow-listed (`authorization`, `password`)."""
    with _powertools_logger("Vault") as (logger, stream):
        logger.set_correlation_id(cid(44))
        logger.error({
            "action": "api_request", "status": 503, "path": "/secrets?token=hunter2hunter2",
            "error": {"api_key": "AIzaSyA1234567890abcdefghijklmnopqrstu", "password=hunter2hunter2": "refused"},
            "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "password": "hunter2",
        })
    return stream.getvalue().strip()


def lambda_json_lines() -> list[str]:
    """Lambda's JSON log format (LoggingConfig.LogFormat: JSON) around a Node.js `console.log(JSON.stringify(
    line))`: the structured line is a JSON string in `message`. 2 api_request (one 5xx)."""
    inner = [
        log_line("api_request", T0 + 1, cid(11), "Api", status=200, duration=8),
        log_line("api_request", T0 + 2, cid(12), "Api", status=500, duration=9),
    ]
    return [
        json.dumps({"timestamp": iso(T0 + n), "level": "INFO", "requestId": cid(90 + n), "message": line})
        for n, line in enumerate(inner, start=1)
    ]


def platform_lines() -> list[str]:
    """Lambda platform lines in the JSON format (docs: Lambda "Log-level filtering", JSON format) and in
    the text format. None is a structured log."""
    request = cid(99)
    return [
        json.dumps({"time": iso(T0), "type": "platform.start", "record": {"requestId": request, "version": "$LATEST"}}),
        json.dumps({"time": iso(T0 + 1), "type": "platform.report", "record": {
            "requestId": request, "metrics": {"durationMs": 2.5, "billedDurationMs": 3, "memorySizeMB": 128,
                                              "maxMemoryUsedMB": 70, "initDurationMs": 180.1}, "status": "success"}}),
        f"START RequestId: {request} Version: $LATEST",
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB",
    ]


def access_log_lines() -> list[str]:
    """API Gateway access logs: the stack's REST format (sam/template.yaml, CLF `requestTime`), one request
    that reached the authorizer hop and three that did not (`correlationId` "-"), plus AWS's default JSON
    format for HTTP APIs. 5 requests, 3 of them 5xx."""
    template = json.loads(json.dumps(_template_access_log_format()))
    lines = []
    for n, (status, correlation) in enumerate(
        [(200, cid(21)), (502, cid(22)), (500, "-"), (403, "-")], start=1
    ):
        values = {
            "$context.requestTimeEpoch": str(int((T0 + n) * 1000)),
            "$context.requestTime": f"01/Oct/2026:00:00:0{n} +0000",
            "$context.requestId": correlation,
            "$context.status": str(status),
            "$context.responseLatency": "42",
            "${AWS::StackName}": "slo",
        }
        line = template
        for variable in sorted(values, key=len, reverse=True):
            line = line.replace(variable, values[variable])
        lines.append(re.sub(r"\$context\.[A-Za-z.]+", "-", line))
    # AWS's default JSON access-log format for HTTP APIs (console "JSON" preset)
    lines.append(json.dumps({
        "requestId": "JKJaXmPLvHcESHA=", "ip": "192.0.2.10", "requestTime": "01/Oct/2026:00:00:05 +0000",
        "httpMethod": "GET", "routeKey": "GET /runs", "status": "503", "protocol": "HTTP/1.1",
        "responseLength": "35",
    }))
    return lines


def _template_access_log_format() -> str:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)}
                                 if isinstance(node, yaml.ScalarNode) else None)
    template = yaml.load((ROOT / "sam" / "template.yaml").read_text(), Loader=Loader)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Api":
            return str(resource["Properties"]["AccessLogSetting"]["Format"]["Sub"])
    raise LookupError("no API in the template")


def schema_v1_lines() -> list[str]:
    """schema v1 as the shipped `correlation` logger writes it. 2 api_request (one 5xx)."""
    return [
        log_line("api_request", T0 + 1, cid(31), "Api", status=200, duration=8),
        log_line("api_request", T0 + 2, cid(32), "Api", status=504, duration=9),
    ]


LINE_SHAPES: dict[str, Callable[[], list[str]]] = {
    "schema v1": schema_v1_lines,
    "Powertools Logger": powertools_lines,
    "Powertools Logger, dict messages": powertools_dict_message_lines,
    "Lambda JSON log format": lambda_json_lines,
    "platform lines": platform_lines,
    "API Gateway access log": access_log_lines,
}


# --- containers ---------------------------------------------------------------------------------------------


def as_kinesis_event(messages: list[str], group: str = "/aws/lambda/gha-api") -> dict[str, Any]:
    """One CloudWatch Logs subscription payload per Kinesis record, as the subscription writes them."""
    return kinesis_event([kinesis_record(gz(cw_payload(messages, group=group)), 1)])


def as_awslogs_envelope(messages: list[str], group: str = "/aws/lambda/gha-api") -> dict[str, Any]:
    """CloudWatch Logs → Lambda subscription: {"awslogs": {"data": base64(gzip(payload))}}."""
    return {"awslogs": {"data": base64.b64encode(gz(cw_payload(messages, group=group))).decode()}}


def as_json_lines(messages: list[str]) -> bytes:
    return ("\n".join(messages) + "\n").encode()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# --- the before/after table ---------------------------------------------------------------------------------


def count_kinesis(messages: list[str]) -> dict[str, Any]:
    """SLI events and skips through the real ingest path: decode the Kinesis record, apply the batch."""
    import tempfile

    from processors.decoding import decode_record
    from processors.ingest import Ingestor
    from processors.spec import load_spec
    from processors.store import SqliteStore

    event = as_kinesis_event(messages)
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "slo.db")
        try:
            decoded = [decode_record(r) for r in event["Records"]]
            report = Ingestor(store, load_spec(ROOT / "slos.yaml")).apply_batch("s", "shardId-0", decoded)
        finally:
            store.close()
    return {"sli_events": report.sli_events, "skipped": dict(report.skips)}


def count_replay(path: Path, *extra: str) -> dict[str, Any]:
    """SLI events through `slo replay` (the CLI, in a subprocess), or its one-line error."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-m", "processors.cli", "replay", str(path), "--db", f"{folder}/slo.db",
             "--no-backtest", "--json", *extra],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )
    if done.returncode:
        return {"exit": done.returncode, "error": done.stderr.strip().splitlines()[-1][:90]}
    summary = json.loads(done.stdout)
    return {"sli_events": summary["sli_events"], "skipped": summary["skipped"]}


def main() -> None:
    import tempfile

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log

    from tests.history import history_files

    rows: list[tuple[str, str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for name, make in LINE_SHAPES.items():
            messages = make()
            rows.append((name, "Kinesis envelope (ingest)", count_kinesis(messages)))
            path = Path(folder) / f"{name.replace(' ', '-')}.jsonl"
            path.write_bytes(as_json_lines(messages))
            rows.append((name, "slo replay, JSON lines", count_replay(path)))
        for name, path, extra in history_files(Path(folder)):
            rows.append((name, "slo replay", count_replay(path, *extra)))
    for shape, route, result in rows:
        print(f"{shape:32} {route:28} {json.dumps(result)}")


if __name__ == "__main__":  # run the module's own copy, not __main__'s: Powertools' logger is per process
    from tests.shapes import main as shapes_main

    shapes_main()
