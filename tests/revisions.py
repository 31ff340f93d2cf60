"""Spec changes as data, for the spec-revision tests: api_request logs whose 404s and 429s are good under the
shipped `lt 500` and bad under `lt 400`, and queue-latency units under two thresholds; and the specs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import T0, cid, iso, log_line

ROOT = Path(__file__).resolve().parents[1]
SLO = "api-availability"
# one api_request every 10 s; 404 and 429 are good under `lt 500` and bad under `lt 400`
STATUSES = (200, 200, 404, 200, 503, 200, 429, 200, 200, 200)
MATCHER = "good: {status: {lt: 500}}"


def write_requests(path: Path, first_hour: int, last_hour: int, day: int = int(T0)) -> Path:
    """JSON-lines api_request logs over [first_hour, last_hour) after `day` (default 2026-10-01T00:00Z)."""
    lines = []
    start = day + first_hour * 3600
    for index, moment in enumerate(range(start, day + last_hour * 3600, 10)):
        lines.append(json.dumps({
            "timestamp": iso(moment), "level": "INFO", "service": "api", "correlationId": f"req-{moment}",
            "metadata": {"action": "api_request", "status": STATUSES[index % len(STATUSES)], "duration": 12},
        }))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_specs(folder: Path) -> tuple[str, str]:
    """(the shipped spec, the same spec with api-availability's matcher changed from `lt 500` to `lt 400`)."""
    shipped = (ROOT / "slos.yaml").read_text()
    assert shipped.count(MATCHER) == 1
    v1, v2 = folder / "v1.yaml", folder / "v2.yaml"
    v1.write_text(shipped)
    v2.write_text(shipped.replace(MATCHER, "good: {status: {lt: 400}}"))
    return str(v1), str(v2)


LATENCY_THRESHOLD = "threshold_ms: 5000"  # queue-latency's, in the shipped spec


def write_units(folder: Path, units: int) -> tuple[list[Path], str]:
    """([a file of webhook_received, a file of runner_started], a spec with queue-latency's threshold at 3000 ms):
    one unit every 40 s, started 1 to 9 s after its webhook, so its start and end are in different files."""
    shipped = (ROOT / "slos.yaml").read_text()
    assert shipped.count(LATENCY_THRESHOLD) == 1
    (folder / "v3.yaml").write_text(shipped.replace(LATENCY_THRESHOLD, "threshold_ms: 3000"))
    starts, ends = [], []
    for n in range(units):
        at = T0 + n * 40
        starts.append(log_line("webhook_received", at, cid(n), service="Webhook"))
        ends.append(log_line("runner_started", at + 1 + n % 9, cid(n)))
    (folder / "starts.jsonl").write_text("\n".join(starts) + "\n")
    (folder / "ends.jsonl").write_text("\n".join(ends) + "\n")
    return [folder / "starts.jsonl", folder / "ends.jsonl"], str(folder / "v3.yaml")


ORPHAN_GOOD = "good: {action: workflow_completed}"  # orphan-rate's, in the shipped spec


def write_orphans(folder: Path, units: int) -> tuple[list[Path], str]:
    """(files in arrival order, a spec whose orphan-rate counts only successful completions as good): a unit
    opens every minute; a third complete within 10 minutes (every other one failing), a third only after 7 hours
    (later than max_runtime: the orphan sweep gets them first, minute by minute, as event time passes), a third
    never. An api_request at 6h30 moves event time on, so sweeps happen between the files."""
    shipped = (ROOT / "slos.yaml").read_text()
    assert shipped.count(ORPHAN_GOOD) == 1
    (folder / "orphans.yaml").write_text(
        shipped.replace(ORPHAN_GOOD, "good: {action: workflow_completed, conclusion: success}"))
    starts, early, late = [], [], []
    for n in range(units):
        at = T0 + n * 60
        starts.append(log_line("runner_started", at, cid(n)))
        conclusion = "success" if n % 2 else "failure"
        if n % 3 == 0:
            early.append(log_line("workflow_completed", at + 600, cid(n), conclusion=conclusion))
        elif n % 3 == 1:
            late.append(log_line("workflow_completed", at + 7 * 3600, cid(n), conclusion=conclusion))
    tick = [json.dumps({"timestamp": iso(T0 + 6.5 * 3600), "level": "INFO", "service": "api",
                        "metadata": {"action": "api_request", "status": 200}})]
    paths = []
    for name, lines in (("starts", starts), ("early", sorted(early)), ("tick", tick), ("late", sorted(late))):
        path = folder / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths, str(folder / "orphans.yaml")
