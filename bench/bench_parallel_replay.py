#!/usr/bin/env python3
"""One `slo replay` process against one per shard file plus `slo backtest`, into DynamoDB (issue #14).

    python bench/bench_parallel_replay.py                 # the sample's first 4 hours (the 03:00 incident), 3 rounds
    python bench/bench_parallel_replay.py --hours 8       # the docs' 8-hour sample

Each round replays the same input into three fresh tables on `slo local-dynamodb` (moto, serialized, per-item
rollback, running in this process): (a) one `slo replay` of every shard file, (b) one `slo replay FILE
--ingest-only` process per shard file at once, then `slo backtest`, and (c), for comparison, one plain `slo
replay FILE` process per shard file at once, as several processes ran before `--ingest-only` (each sweeps,
rolls up and backtests every minute, its backtest seeing only its own shard). CPU is user + system time of each child
process (wait4), summed over (b)'s processes; the server's CPU is in neither. Wall for (b) is the workers'
(concurrent) wall plus the backtest's. Each round also checks that `slo status --json` and `slo alerts --json`
are byte-identical between (a) and (b). Goal: (b) costs at most 1.25x (a)'s CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processors.cli.local_dynamodb import LOCAL_CREDENTIALS, LocalDynamoDB  # noqa: E402

GOAL = 1.25


def slo(*args: str) -> list[str]:
    return [sys.executable, "-m", "processors.cli", *args]


def measured(commands: list[list[str]]) -> tuple[float, float, list[str]]:
    """Run `commands` at once: (summed child CPU seconds, wall seconds, their stdouts)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for c in commands]
    cpu, outputs = 0.0, []
    for child in children:
        _pid, status, usage = os.wait4(child.pid, 0)
        out = child.stdout.read() if child.stdout else ""
        err = child.stderr.read() if child.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(child.args)} failed:\n{err[-2000:]}")  # type: ignore[arg-type]
        cpu += usage.ru_utime + usage.ru_stime
        outputs.append(out)
    return cpu, time.perf_counter() - started, outputs


def one_round(endpoint: str, files: list[Path]) -> dict[str, float]:
    tables = {}
    for name in ("one", "split", "plain"):
        table = f"bench-{name}-{uuid.uuid4().hex[:8]}"
        subprocess.run(slo("bootstrap", "--endpoint-url", endpoint, "--table", table, "--stream", f"{table}-logs"),
                       check=True, capture_output=True)
        tables[name] = ["--store", "dynamodb", "--table", table, "--endpoint-url", endpoint]
    one_cpu, one_wall, _ = measured([slo("replay", *map(str, files), *tables["one"], "--json")])
    workers_cpu, workers_wall, _ = measured(
        [slo("replay", str(path), *tables["split"], "--ingest-only", "--json") for path in files]
    )
    backtest_cpu, backtest_wall, _ = measured([slo("backtest", *tables["split"], "--json")])
    plain_cpu, plain_wall, _ = measured([slo("replay", str(path), *tables["plain"], "--json") for path in files])
    documents = {}
    for name, store in tables.items():
        if name == "plain":
            continue
        _, _, (status,) = measured([slo("status", "--json", *store)])
        _, _, (alerts,) = measured([slo("alerts", "--json", "--since", "2000-01-01T00:00:00Z", *store)])
        documents[name] = (status, alerts)
    if documents["one"] != documents["split"]:
        raise SystemExit("the split replay's status or alerts differ from one replay's")
    return {
        "one_cpu": one_cpu, "one_wall": one_wall,
        "split_cpu": workers_cpu + backtest_cpu, "split_wall": workers_wall + backtest_wall,
        "backtest_cpu": backtest_cpu, "transitions": documents["one"][1].count('"id"'),
        "plain_cpu": plain_cpu, "plain_wall": plain_wall,
    }


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=4, help="4 covers the 03:00 incident")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, str(ROOT / "events" / "generate.py"), "--out", folder, "--hours",
                        str(args.hours)], check=True, capture_output=True)
        files = sorted((Path(folder) / "stream").glob("*.jsonl"))
        server = LocalDynamoDB("127.0.0.1", 0)
        server.start()
        try:
            rounds = [one_round(server.endpoint, files) for _ in range(args.rounds)]
        finally:
            server.stop()
    ratios = [r["split_cpu"] / r["one_cpu"] for r in rounds]
    print(f"parallel replay into DynamoDB (slo local-dynamodb): the sample's first {args.hours} h, "
          f"{len(files)} shard files, {args.rounds} rounds, median (min-max)")
    print(f"  one `slo replay` of every file           CPU {spread([r['one_cpu'] for r in rounds])} s   "
          f"wall {spread([r['one_wall'] for r in rounds])} s")
    print(f"  {len(files)} x `slo replay --ingest-only` + backtest  CPU {spread([r['split_cpu'] for r in rounds])} s   "
          f"wall {spread([r['split_wall'] for r in rounds])} s   (backtest CPU "
          f"{spread([r['backtest_cpu'] for r in rounds])} s)")
    print(f"  {len(files)} x plain `slo replay FILE` (before)   CPU {spread([r['plain_cpu'] for r in rounds])} s   "
          f"wall {spread([r['plain_wall'] for r in rounds])} s   CPU ratio plain / one "
          f"{spread([r['plain_cpu'] / r['one_cpu'] for r in rounds])}x")
    print(f"  CPU ratio split / one                    {spread(ratios)}x   goal <= {GOAL}x: "
          f"{'met' if max(ratios) <= GOAL else 'not met'} (every round)")
    print(f"  status and alerts byte-identical in every round ({int(rounds[0]['transitions'])} alert transitions)")


if __name__ == "__main__":
    main()
