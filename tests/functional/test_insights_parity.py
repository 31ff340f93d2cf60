"""Each SLO's Logs Insights query (processors/insights) counts what `slo status` counts, on the sample.

The sample (events/generate.py) is read as CloudWatch Logs Insights would see it: the CloudWatch Logs events
inside the Kinesis records, each message parsed as JSON, `@timestamp` the event's CloudWatch time. The queries
run on tests/logs_insights.py, a small interpreter of the subset they use. The store is built by the real
replay of the same files.
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from processors.insights import queries, slo_query
from processors.spec import load_spec
from tests.logs_insights import run

ROOT = Path(__file__).resolve().parents[2]
SWEPT = "orphan sweep: "


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("insights")
    subprocess.run([sys.executable, str(ROOT / "events" / "generate.py"), "--out", str(base)], check=True,
                   capture_output=True)
    db = str(base / "slo.db")
    done = subprocess.run([sys.executable, "-m", "processors.cli", "replay", str(base / "stream"), "--db", db,
                           "--no-backtest"], check=True, capture_output=True, text=True, cwd=ROOT)
    swept = next((int(line.split(SWEPT)[1].split()[0]) for line in done.stderr.splitlines() + done.stdout.splitlines()
                  if SWEPT in line), 0)
    return {"db": db, "events": list(cloudwatch_events(base / "stream")), "swept": swept}


def cloudwatch_events(stream: Path) -> list[dict[str, Any]]:
    """Every CloudWatch Logs event of the Kinesis files whose message is a JSON object, plus @timestamp."""
    found = []
    for path in sorted(stream.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for record in json.loads(line)["Records"]:
                payload = json.loads(gzip.decompress(base64.b64decode(record["kinesis"]["data"])))
                for event in payload.get("logEvents", []):
                    try:
                        message = json.loads(event["message"])
                    except ValueError:
                        continue  # Logs Insights discovers no fields in a non-JSON line
                    if isinstance(message, dict):
                        found.append({**message, "@timestamp": event["timestamp"]})
    return found


@pytest.fixture(scope="module")
def status(sample: dict[str, Any]) -> dict[str, dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--db", sample["db"], "--json"]) == 0
    return {slo["name"]: slo for slo in json.loads(out.getvalue())["slos"]}


@pytest.mark.parametrize("slo", load_spec().slos, ids=lambda slo: slo.name)
def test_each_slo_query_counts_what_slo_status_counts(slo, sample, status) -> None:  # type: ignore[no-untyped-def]
    rows = run(slo_query(slo), sample["events"])
    assert len(rows) == 1, rows
    expected = status[slo.name]
    good, total = rows[0]["good"], rows[0]["total"]
    if slo.kind == "resolution":
        # runners swept after max_runtime resolve without a log line: the store counts them bad, a query can't
        total += sample["swept"]
    assert (good, total) == (expected["good"], expected["total"])
    assert 0 < good < total  # the sample's incident shows in every SLO


def test_the_sample_has_a_swept_runner_so_the_resolution_difference_is_exercised(sample) -> None:  # type: ignore[no-untyped-def]
    assert sample["swept"] >= 1


def test_the_trace_query_finds_every_line_of_one_correlation_id(sample) -> None:  # type: ignore[no-untyped-def]
    trace = next(q for q in queries(load_spec()) if q.resource == "InsightsTraceQuery")
    cid = next(e["correlationId"] for e in sample["events"] if e.get("metadata", {}).get("action") == "runner_started")
    rows = run(trace.text.replace("00000000-0000-0000-0000-000000000000", cid), sample["events"])
    assert len(rows) == sum(1 for e in sample["events"] if e.get("correlationId") == cid) >= 4


def test_the_errors_query_counts_5xx_and_error_lines_by_service(sample) -> None:  # type: ignore[no-untyped-def]
    errors = next(q for q in queries(load_spec()) if q.resource == "InsightsErrorsQuery")
    rows = run(errors.text, sample["events"])
    by_service = {(row["service"], row["metadata.action"]): row["errors"] for row in rows}
    api_5xx = sum(1 for e in sample["events"] if e.get("metadata", {}).get("action") == "api_request"
                  and isinstance(e["metadata"].get("status"), int) and e["metadata"]["status"] >= 500)
    assert by_service[("Api", "api_request")] >= api_5xx > 0
