"""Both adapters, byte for byte: the sample replayed into SQLite and into DynamoDB (moto's server over HTTP)
gives the same `slo status --json`, `slo alerts --json` and `slo trace --json`, on the hour and mid-hour.

The fast tier replays a deterministic slice of the 8-hour sample around its incident (pages, tickets and
budget alerts included); the slow tier replays all 8 hours (it takes minutes over moto's server).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from tests.builders import EVENTS_DIR
from tests.conftest import create_table

SEED, HOURS = 20261001, 8
SLICE = ("2026-10-01T02:40:00Z", "2026-10-01T03:25:00Z")  # the incident (03:00-03:08) and what leads to it
SLICE_TIMES = ("2026-10-01T03:00:00Z", "2026-10-01T03:17:00Z", "2026-10-01T03:24:30Z")
WHOLE_TIMES = ("2026-10-01T04:00:00Z", "2026-10-01T03:05:00Z", "2026-10-01T07:41:20Z")


def generate(out: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", EVENTS_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.write(out, SEED, HOURS)
    (out / "sample-kinesis-event.json").unlink()  # the hand-written event, not part of the traffic


def cut(source: Path, out: Path, start: str, end: str) -> None:
    """The Lambda events (one per shard per minute) whose records arrived in [start, end)."""
    low, high = (datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() for moment in (start, end))
    (out / "stream").mkdir(parents=True)
    for path in sorted((source / "stream").iterdir()):
        with path.open() as lines, (out / "stream" / path.name).open("w") as kept:
            for line in lines:
                arrival = json.loads(line)["Records"][0]["kinesis"]["approximateArrivalTimestamp"]
                if low <= arrival < high:
                    kept.write(line)


def run(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0, argv
    return out.getvalue()


def outputs(store: list[str], times: tuple[str, ...]) -> dict[str, str]:
    """Every JSON document the comparison covers, by the command that printed it."""
    found = {"alerts": run("alerts", "--json", *store)}
    ids: set[str] = set()
    for transition in json.loads(found["alerts"]):
        ids.update(transition.get("exemplars") or ())
    for at in times:
        found[f"status --at {at}"] = run("status", "--json", "--at", at, *store)
        for repository in ("acme/web", "acme/infra"):
            listed = run("trace", "--repository", repository, "--since", "1h", "--at", at, "--json", *store)
            found[f"trace --repository {repository} --at {at}"] = listed
            ids.update(entry["correlationId"] for entry in json.loads(listed)["traces"])
    for correlation_id in sorted(ids):
        found[f"trace {correlation_id}"] = run("trace", correlation_id, "--json", *store)
    return found


def replay_both(events: Path, db: Path, endpoint: str, times: tuple[str, ...]) -> dict[str, dict[str, str]]:
    sqlite = ["--db", str(db)]
    dynamodb = ["--store", "dynamodb", "--table", create_table(endpoint), "--endpoint-url", endpoint]
    for store in (sqlite, dynamodb):
        run("replay", str(events), *store)
    return {"sqlite": outputs(sqlite, times), "dynamodb": outputs(dynamodb, times)}


@pytest.fixture(scope="module")
def whole_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out)
    return out


@pytest.fixture(scope="module")
def sliced(whole_sample: Path, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("slice")
    cut(whole_sample, out, *SLICE)
    return replay_both(out, out / "slo.db", moto_endpoint, SLICE_TIMES)


def assert_identical(documents: dict[str, dict[str, str]]) -> None:
    sqlite, dynamodb = documents["sqlite"], documents["dynamodb"]
    assert sorted(sqlite) == sorted(dynamodb)
    differing = [name for name in sqlite if sqlite[name] != dynamodb[name]]
    assert differing == [], f"differ: {differing[:5]}"


def test_the_slice_gives_byte_identical_status_alerts_and_traces_on_both_adapters(sliced) -> None:  # type: ignore[no-untyped-def]
    assert_identical(sliced)


def test_the_slice_compares_pages_exemplars_latency_and_found_traces_not_empty_documents(sliced) -> None:  # type: ignore[no-untyped-def]
    documents = sliced["sqlite"]
    alerts = json.loads(documents["alerts"])
    assert any(t["severity"] == "page" and t["state"] == "firing" and t.get("exemplars") for t in alerts)
    mid_hour = json.loads(documents[f"status --at {SLICE_TIMES[1]}"])
    assert mid_hour["at"] == SLICE_TIMES[1]
    assert all(slo["total"] > 0 for slo in mid_hour["slos"])
    assert any(slo.get("latency_ms") for slo in mid_hour["slos"])
    traces = [json.loads(text) for name, text in documents.items() if name.startswith("trace ") and "--" not in name]
    assert len(traces) > 10 and all(trace["found"] for trace in traces)


@pytest.mark.slow
def test_the_whole_sample_gives_byte_identical_outputs_on_both_adapters(  # type: ignore[no-untyped-def]
    whole_sample, moto_endpoint, tmp_path
) -> None:
    documents = replay_both(whole_sample, tmp_path / "slo.db", moto_endpoint, WHOLE_TIMES)
    alerts = json.loads(documents["sqlite"]["alerts"])
    assert len(alerts) >= 5 and any(alert["severity"] == "page" for alert in alerts)  # the incident's page and more
    assert_identical(documents)
