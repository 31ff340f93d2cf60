#!/usr/bin/env python3
"""`slo replay` of bombs, by hand (not in CI, not in `make bench`): what the reading bounds of
processors/replay/sources.py cost and save (docs/log-schema.md, "`slo replay` reads each file as a stream").

    python bench/bench_replay_bombs.py [--base-commit 123ed17] [--big] [--only NAME ...]

Each bomb is replayed with `--no-backtest` into a fresh SQLite store by a child `slo` process of this tree, and
of the base commit when one is given (its tree is extracted with `git archive`, as bench/harness.py does).
Printed: the child's peak RSS (its own, from wait4), wall and CPU time (user + system), and the replay's
`skipped` or error line. Gzip bombs of lines test the inflate and entry bounds; gzip and plain documents of tiny
values (pretty-printed, one value a line) the value cap; 8 MiB JSON lines of tiny values the line's value cap;
two documents just under the cap, that one is not held while the next is parsed. `--big` adds a 1 MB gzip of a
billion bytes of `{}` lines, for this tree only (a tree without the bounds takes ~30 min).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, base_tree

PLAIN_BYTES = 60 << 20
LINE_BYTES = (8 << 20) - 64  # just under the line cap, so the line is read and parsed, not refused unread


@dataclass(frozen=True)
class Bomb:
    name: str
    what: str
    write: Callable[[IO[bytes]], None]  # writes the bomb a block at a time: the parent stays small, as wait4 sees it
    gzipped: bool = True
    level: int = 9


def repeated(item: bytes, times: int, head: bytes = b"", separator: bytes = b"", tail: bytes = b""
             ) -> Callable[[IO[bytes]], None]:
    """`head`, `item` `times` times between separators (`%d` in it replaced by the item's number), `tail`."""
    def write(out: IO[bytes]) -> None:
        out.write(head)
        for start in range(0, times, 100_000):
            numbers = range(start, min(start + 100_000, times))
            items = [item % n for n in numbers] if b"%d" in item else [item] * len(numbers)
            out.write((separator if start else b"") + separator.join(items))
        out.write(tail)
    return write


def in_turn(*writers: Callable[[IO[bytes]], None]) -> Callable[[IO[bytes]], None]:
    def write(out: IO[bytes]) -> None:
        for writer in writers:
            writer(out)
    return write


def plain_list(name: str, item: bytes) -> Bomb:
    """A pretty-printed list of 60 MiB: one value a line, as `json.dumps(indent=...)` writes it."""
    return Bomb(name, f"60 MiB list of `{item.decode()}`, plain",
                repeated(item, PLAIN_BYTES // (len(item) + 2), b"[\n", b",\n", b"\n]\n"), gzipped=False)


def kinesis_event(indent: int | None) -> Callable[[IO[bytes]], None]:
    event = json.loads((ROOT / "events" / "sample-kinesis-event.json").read_text())
    return repeated(json.dumps(event, indent=indent).encode() + b"\n", 1)


BOMBS = [
    Bomb("newlines.gz", "100 MB of newlines, gzip", repeated(b"\n", 100_000_000)),
    Bomb("braces.gz", "10 million `{}` lines, gzip", repeated(b"{}\n", 10_000_000)),
    Bomb("events-braces.json.gz", "15 million `{}` in a pretty-printed events list, gzip",
         repeated(b"{}", 15_000_000, b'{"events": [\n', b",\n", b"\n]}\n"), level=1),
    plain_list("braces.json", b"{}"),
    plain_list("brackets.json", b"[]"),
    plain_list("floats.json", b"0.5"),
    plain_list("strings.json", b'"a"'),
    plain_list("ones.json", b"1"),
    plain_list("nested.json", b'{"a":{"a":0}}'),
    Bomb("lines.jsonl", "a Kinesis event line, then 4 lines of 8 MiB of `{\"a\":0}`, plain",
         in_turn(kinesis_event(None), *[repeated(b'{"a":0}', LINE_BYTES // 8, b"[", b",", b"]\n")] * 4),
         gzipped=False),
    Bomb("two-documents.json", "a Kinesis event, then two lists of 490,000 `{\"kN\":\"v1\"}` (980,000 values each), "
         "pretty-printed, plain", in_turn(kinesis_event(2), *[repeated(b'{"k%d":"v1"}', 490_000, b"[\n", b",\n",
                                                                        b"\n]\n")] * 2), gzipped=False),
]
BIG = Bomb("big-braces.gz", "340 million `{}` lines (1 GB), gzip", repeated(b"{}\n", 340_000_000))


def make(folder: Path, bomb: Bomb) -> Path:
    path = folder / bomb.name
    opened = gzip.open(path, "wb", compresslevel=bomb.level) if bomb.gzipped else open(path, "wb")  # noqa: SIM115
    with opened as out:
        bomb.write(out)
    return path


def replay(tree: Path, path: Path, folder: Path) -> tuple[float, float, float, str]:
    """(the child's peak RSS MB, wall s, CPU s, its exit code and skipped/error line)."""
    db = folder / f"bomb-{time.time_ns()}.db"
    command = [sys.executable, "-m", "processors.cli", "replay", str(path), "--db", str(db), "--no-backtest"]
    output = folder / "output.txt"
    started = time.perf_counter()
    with output.open("w+") as out:
        child = subprocess.Popen(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, stdout=out,
                                 stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        said = next((line.strip() for line in out if "skipped:" in line or "error:" in line), "")
    said = said.replace(str(folder) + "/", "")
    cpu = usage.ru_utime + usage.ru_stime
    return usage.ru_maxrss / 1024, wall, cpu, f"exit {os.waitstatus_to_exitcode(status)}: {said}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-commit", help="also replay each bomb with this commit's tree")
    parser.add_argument("--big", action="store_true", help="add the 1 MB gzip of 1 GB of `{}` lines (this tree)")
    parser.add_argument("--only", nargs="*", help="only the bombs of these names (e.g. braces.json)")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.base_commit:
        trees = {args.base_commit: base_tree(args.base_commit), **trees}
    bombs = [bomb for bomb in BOMBS if not args.only or bomb.name in args.only]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        print("| bomb | size | tree | peak RSS MB | wall s | CPU s | what replay said |")
        print("|---|---|---|---|---|---|---|")
        cases = [(bomb, trees) for bomb in bombs]
        if args.big:
            cases.append((BIG, {"this tree": ROOT}))
        for bomb, replayed_by in cases:
            path = make(folder, bomb)
            for label, tree in replayed_by.items():
                rss, wall, cpu, said = replay(tree, path, folder)
                print(f"| {bomb.what} | {path.stat().st_size:,} B | {label} | {rss:.0f} | {wall:.1f} | {cpu:.1f} "
                      f"| {said} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
