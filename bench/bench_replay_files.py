#!/usr/bin/env python3
"""`slo replay` of one folder of many files, by hand (not in CI, not in `make bench`): the peak RSS and CPU of
the merge across files (processors/replay/sources.py, `arrival_order`; docs/log-schema.md, "Many files").

    python bench/bench_replay_files.py [--base-commit 123ed17] [--counts 50,600,2000] [--shapes ...] [--days 7]

The 2-day history of `make bench` (events/generate.py --days 2 --rate 1.6: 146,406 log lines), or its 7-day
one (`--days 7`), is cut into folders of N files in four shapes people have:

- `slices-firehose`: CloudWatch Logs → Firehose → S3 objects, one per time slice (gzip, concatenated payloads
  of each log stream's events, as the delivery stream writes them), not overlapping in time;
- `slices-lines`: JSON-lines files, one per time slice (e.g. per 5 minutes), not overlapping;
- `streams-lines`: JSON-lines files, one per log stream (here a hash of the line), each spanning both days;
- `streams-filter`: `aws logs filter-log-events` output (one document, indent 4), one per log stream, each
  spanning both days;

and first, as the reference, every line in one JSON-lines file (`one-file`): the status hash column says which
folders replay to the same status as one file.

Each folder is replayed with the backtest into a fresh SQLite store (`slo replay FOLDER --db X --json`) by a
child `slo` process of this tree, and of the base commit when one is given (its tree is extracted with `git
archive`, as bench/harness.py does). Printed: the child's peak RSS (VmHWM, which it reads at exit: its
ru_maxrss would carry this process's RSS across exec), its CPU (user + system) and wall time, and whether
the two trees' summaries and `slo status --json` agree.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
from harness import ROOT, base_tree, generated

SHAPES = ("slices-firehose", "slices-lines", "streams-lines", "streams-filter")
PAYLOAD_EVENTS = 500  # log events per CloudWatch Logs payload, at most
# runs the CLI in the child and prints its peak RSS (kB) last on stderr, whatever the exit
CHILD = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    print(f"VmHWM {kb}", file=sys.stderr)
atexit.register(peak)
sys.argv = ["slo", *sys.argv[1:]]
runpy.run_module("processors.cli", run_name="__main__")
"""
Line = tuple[int, str, str, str]  # (timestamp ms, log group, log stream, message)


def log_lines(history: Path) -> list[Line]:
    """Every log event in the history's Kinesis events, in time order (ties: as generated)."""
    lines: list[Line] = []
    for path in sorted((history / "stream").glob("*.jsonl")):
        with path.open() as handle:
            for text in handle:
                for record in json.loads(text)["Records"]:
                    payload = json.loads(zlib.decompress(base64.b64decode(record["kinesis"]["data"]), 31))
                    lines += [(e["timestamp"], payload["logGroup"], payload["logStream"], e["message"])
                              for e in payload.get("logEvents", [])]
    lines.sort(key=lambda line: line[0])
    return lines


def _slices(lines: list[Line], count: int) -> list[list[Line]]:
    start, end = lines[0][0], lines[-1][0] + 1
    width = -(-(end - start) // count)
    parts: list[list[Line]] = [[] for _ in range(count)]
    for line in lines:
        parts[(line[0] - start) // width].append(line)
    return parts


def _streams(lines: list[Line], count: int) -> list[list[Line]]:
    parts: list[list[Line]] = [[] for _ in range(count)]
    for line in lines:
        parts[zlib.crc32(line[3].encode()) % count].append(line)
    return parts


def _firehose_object(lines: list[Line]) -> bytes:
    by_stream: dict[tuple[str, str], list[Line]] = defaultdict(list)
    for line in lines:
        by_stream[(line[1], line[2])].append(line)
    members = []
    for (group, stream), events in by_stream.items():
        for offset in range(0, len(events), PAYLOAD_EVENTS):
            payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                       "logStream": stream, "subscriptionFilters": ["archive"],
                       "logEvents": [{"id": str(n), "timestamp": t, "message": m}
                                     for n, (t, _, _, m) in enumerate(events[offset:offset + PAYLOAD_EVENTS])]}
            members.append(gzip.compress(json.dumps(payload).encode(), mtime=0))
    return b"".join(members)  # Firehose writes the records as CloudWatch Logs gzipped them, one after another


def _filter_output(lines: list[Line]) -> bytes:
    events = [{"logStreamName": s, "timestamp": t, "message": m, "ingestionTime": t + 500,
               "eventId": f"{t}{n:010d}"} for n, (t, _, s, m) in enumerate(lines)]
    streams = sorted({line[2] for line in lines})
    return json.dumps({"events": events, "searchedLogStreams": [
        {"logStreamName": s, "searchedCompletely": True} for s in streams]}, indent=4).encode()


def write_folder(folder: Path, shape: str, count: int, lines: list[Line]) -> Path:
    target = folder / f"{shape}-{count}"
    if (target / "done").exists():
        return target
    (target / "logs").mkdir(parents=True, exist_ok=True)
    parts = [lines] if shape == "one-file" else (_slices if shape.startswith("slices") else _streams)(lines, count)
    for n, part in enumerate(parts):
        if not part:
            continue
        if shape == "slices-firehose":
            (target / "logs" / f"part-{n:05d}.gz").write_bytes(_firehose_object(part))
        elif shape == "streams-filter":
            (target / "logs" / f"part-{n:05d}.json").write_bytes(_filter_output(part))
        else:
            (target / "logs" / f"part-{n:05d}.jsonl").write_text("".join(m + "\n" for _, _, _, m in part))
    (target / "done").write_text("")
    return target


def replay(tree: Path, folder: Path, scratch: Path) -> dict[str, Any]:
    """The child's peak RSS (MB), CPU and wall (s), exit code, summary (without timing) and status."""
    db = scratch / f"files-{time.time_ns()}.db"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", CHILD, "replay", str(folder / "logs"), "--db", str(db), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = next((int(line.split()[1]) for line in reversed(done.stderr.splitlines()) if line.startswith("VmHWM")), 0)
    try:
        summary = json.loads(done.stdout)
        summary.pop("seconds", None)
    except ValueError:
        summary = {"error": done.stderr.strip().splitlines()[-2:]}
    status = subprocess.run([sys.executable, "-m", "processors.cli", "status", "--db", str(db), "--json"],
                            cwd=tree, env=env, capture_output=True, text=True).stdout
    db.unlink(missing_ok=True)
    return {"rss": peak / 1024, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "wall": wall, "exit": done.returncode, "summary": summary,
            "status": hashlib.sha256(status.encode()).hexdigest()[:10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-commit", help="also replay each folder with this commit's tree")
    parser.add_argument("--counts", default="50,600,2000", help="files per folder (default 50,600,2000)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"default {','.join(SHAPES)}")
    parser.add_argument("--cache", type=Path, default=harness.CACHE, help="where inputs and trees are kept")
    parser.add_argument("--days", type=int, choices=(2, 7), default=2, help="the history to cut (default 2)")
    args = parser.parse_args()
    harness.CACHE = args.cache
    trees = {"this tree": ROOT}
    if args.base_commit:
        trees = {args.base_commit: base_tree(args.base_commit), **trees}
    history = generated(f"d{args.days}", "--days", str(args.days), "--rate", "1.6")
    lines = log_lines(history)
    print(f"{len(lines):,} log lines from {history}", file=sys.stderr)
    scratch = args.cache / "files-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    print("| shape | files | tree | peak RSS MB | CPU s | wall s | batches | events | status |")
    print("|---|---|---|---|---|---|---|---|---|")
    cases = [("one-file", 1)] + [(s, int(n)) for s in args.shapes.split(",") for n in args.counts.split(",")]
    for shape, count in cases:
        folder = write_folder(args.cache / f"files-d{args.days}", shape, count, lines)
        results = {label: replay(tree, folder, scratch) for label, tree in trees.items()}
        for label, result in results.items():
            summary = result["summary"]
            print(f"| {shape} | {count} | {label} | {result['rss']:.0f} | {result['cpu']:.1f} | "
                  f"{result['wall']:.1f} | {summary.get('batches', '-')} | "
                  f"{summary.get('events', summary.get('error'))} | {result['status']} |", flush=True)
        if len(results) == 2:
            first, second = results.values()
            same = {key for key in first["summary"] if first["summary"][key] == second["summary"].get(key)}
            differ = sorted(set(first["summary"]) - same)
            print(f"|  |  | same? | status {'equal' if first['status'] == second['status'] else 'DIFFERS'}, "
                  f"summary differs in: {', '.join(differ) or 'nothing'} |  |  |  |  |  |", flush=True)


if __name__ == "__main__":
    main()
