#!/usr/bin/env python3
"""`slo replay` of gzip bombs, by hand (not in CI, not in `make bench`): what the reading bounds of
processors/replay/sources.py cost and save (docs/log-schema.md, "`slo replay` reads each file as a stream").

    python bench/bench_replay_bombs.py [--base-commit 8e005ff] [--big]

Each bomb is replayed with `--no-backtest` into a fresh SQLite store by a child `slo` process of this tree, and
of the base commit when one is given (its tree is extracted with `git archive`, as bench/harness.py does).
Printed: wall and CPU time (the child's user + system) and the replay's `skipped` or error line. `--big` adds
a 1 MB gzip of a billion bytes of `{}` lines, for this tree only (a tree without the bounds takes ~30 min).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, base_tree

BOMBS = {  # name -> (what, repeated line, times)
    "newlines.gz": ("100 MB of newlines", b"\n", 100_000_000),
    "braces.gz": ("10 million `{}` lines", b"{}\n", 10_000_000),
}
BIG = ("big-braces.gz", ("340 million `{}` lines (1 GB)", b"{}\n", 340_000_000))


def make(folder: Path, name: str, line: bytes, times: int) -> Path:
    path = folder / name
    with gzip.open(path, "wb") as out:
        block = line * (1_000_000 // len(line))
        written = 0
        while written < times:
            count = min(times - written, len(block) // len(line))
            out.write(block[: count * len(line)])
            written += count
    return path


def replay(tree: Path, path: Path, folder: Path) -> tuple[float, float, str]:
    """(wall s, the child's CPU s, its exit code and skipped/error line)."""
    db = folder / f"bomb-{time.time_ns()}.db"
    command = [sys.executable, "-m", "processors.cli", "replay", str(path), "--db", str(db), "--no-backtest"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
                          text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = done.stdout + done.stderr
    said = next((line.strip() for line in output.splitlines() if "skipped:" in line or "error:" in line), "")
    return wall, cpu, f"exit {done.returncode}: {said}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-commit", help="also replay each bomb with this commit's tree")
    parser.add_argument("--big", action="store_true", help="add the 1 MB gzip of 1 GB of `{}` lines (this tree)")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.base_commit:
        trees = {args.base_commit: base_tree(args.base_commit), **trees}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        print("| bomb | gzip size | tree | wall s | CPU s | what replay said |")
        print("|---|---|---|---|---|---|")
        cases = [(name, bomb, trees) for name, bomb in BOMBS.items()]
        if args.big:
            cases.append((*BIG, {"this tree": ROOT}))
        for name, (what, line, times), replayed_by in cases:
            path = make(folder, name, line, times)
            for label, tree in replayed_by.items():
                wall, cpu, said = replay(tree, path, folder)
                print(f"| {what} | {path.stat().st_size:,} B | {label} | {wall:.1f} | {cpu:.1f} | {said} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
