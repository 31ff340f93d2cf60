"""The spec decides the domain: renaming every action of the runner platform, consistently in a copy of the
spec and in the sample traffic, gives the same status, alerts, traces, orphan sweep and operator metrics.

The engine names no action; if it did (a hard-coded milestone, vocabulary or metric source), the renamed run
would lose the orphan sweep, the trace phases, trace coverage or a metric, and the documents would differ.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from tests.functional.test_replay_sample import load_generator

HOURS = 7  # the silent orphan of minute 12 is swept 6 h later; the incident is at 03:00
SEED = 20261001
RENAMED = {
    "webhook_received": "order_intake",
    "job_queued": "ticket_filed",
    "task_launched": "crew_dispatched",
    "runner_started": "crew_on_site",
    "cache_hit": "stock_found",
    "cache_miss": "stock_absent",
    "workflow_completed": "ticket_closed",
    "runner_orphaned": "crew_lost",
    "api_request": "portal_call",
    "reconcile_completed": "audit_done",
}


def rename(text: str, mapping: dict[str, str]) -> str:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def write_traffic(out: Path, mapping: dict[str, str] | None) -> None:
    generator = load_generator()
    traffic = generator.Traffic(SEED, HOURS)
    traffic.generate()
    if mapping:
        lines = []
        for moment, group, stream, message in traffic.lines:
            try:
                log = json.loads(message)
                action = log["metadata"]["action"]
            except (ValueError, KeyError, TypeError):
                lines.append((moment, group, stream, message))  # malformed lines stay malformed
                continue
            log["metadata"]["action"] = mapping.get(action, action)
            lines.append((moment, group, stream, json.dumps(log, separators=(",", ":"))))
        traffic.lines = lines
    stream_dir = out / "stream"
    stream_dir.mkdir(parents=True)
    files: dict[str, list[str]] = {}
    for shard, event in generator.kinesis_events(_FixedLines(traffic.lines)):
        files.setdefault(shard, []).append(json.dumps(event) + "\n")
    for shard, events in files.items():
        (stream_dir / f"{shard}.jsonl").write_text("".join(events))


class _FixedLines:
    """The (renamed) lines in time order, ties in generation order, as Traffic.iter_lines() streams them."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = sorted(lines, key=lambda line: line[0])

    def iter_lines(self) -> Iterator[Any]:
        return iter(self.lines)


def cli_json(*args: str) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return json.loads(out.getvalue())


def run_platform(tmp: Path, mapping: dict[str, str] | None) -> dict[str, Any]:
    """Replay the traffic under the (renamed) spec; every document, with the names mapped back."""
    shipped = resources.files("processors").joinpath("slos.yaml").read_text(encoding="utf-8")
    spec = tmp / "slos.yaml"
    spec.write_text(rename(shipped, mapping) if mapping else shipped)
    write_traffic(tmp / "events", mapping)
    db = str(tmp / "slo.db")
    common = ("--db", db, "--spec", str(spec))
    documents: dict[str, Any] = {"replay": cli_json("replay", str(tmp / "events"), "--json", *common)}
    documents["replay"].pop("seconds", None)
    documents["replay"].pop("elapsed_seconds", None)
    documents["status"] = cli_json("status", "--json", *common)
    documents["incident"] = cli_json("status", "--json", "--at", "2026-10-01T03:10:00Z", *common)
    for slo in documents["status"]["slos"] + documents["incident"]["slos"]:
        assert slo.pop("revision")  # a hash of the SLI's matchers: renamed actions are a new revision, by design
    documents["alerts"] = cli_json("alerts", "--json", "--db", db)
    documents["metrics"] = [
        cli_json("metrics", "--json", "--at", at, *common)
        for at in ("2026-10-01T03:05:00Z", "2026-10-01T06:30:00Z", "2026-10-01T06:59:00Z")
    ]
    exemplars = sorted({cid for alert in documents["alerts"] for cid in alert.get("exemplars") or []})
    # the pages' exemplars are failed API requests: a few workflows' traces too, for the journey's phases
    recent = cli_json("trace", "--repository", "acme/web", "--since", "1h", "--json", *common)["traces"]
    workflows = [trace["correlationId"] for trace in recent[:4]]
    documents["traces"] = [cli_json("trace", cid, "--json", *common) for cid in workflows + exemplars[:8]]
    text = json.dumps(documents, sort_keys=True, ensure_ascii=False)
    back = {new: old for old, new in (mapping or {}).items()}
    return {"documents": json.loads(rename(text, back) if back else text), "exemplars": exemplars}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    original = run_platform(tmp_path_factory.mktemp("original"), None)
    renamed = run_platform(tmp_path_factory.mktemp("renamed"), RENAMED)
    return original, renamed


@pytest.mark.parametrize("document", ["replay", "status", "incident", "alerts", "metrics", "traces"])
def test_renaming_every_action_consistently_changes_no_result(runs: Any, document: str) -> None:
    original, renamed = runs
    assert renamed["documents"][document] == original["documents"][document]


def test_the_renamed_run_still_sweeps_pages_traces_and_measures(runs: Any) -> None:
    """The equality above would hold trivially if both runs lost everything; they don't."""
    original, _renamed = runs
    documents = original["documents"]
    assert documents["replay"]["orphans_swept"] >= 1
    assert any(alert["severity"] == "page" for alert in documents["alerts"])
    assert original["exemplars"]
    phases = [s["action"] for t in documents["traces"] for s in t["spans"] if s["kind"] == "phase"]
    assert any(p.startswith("startup: task_launched") for p in phases)
    operator = {entry["name"]: entry["value"] for m in documents["metrics"] for entry in m["operator"]}
    started = [e["value"] for m in documents["metrics"] for e in m["operator"] if e["name"] == "RunnersStarted"]
    assert any(value > 0 for value in started) and "CacheHitRate" in operator and "QueueAgeP95" in operator
    assert operator["TraceCoverage"] > 0.9  # the renamed vocabulary still counts as the vocabulary
