#!/usr/bin/env python3
"""Redaction of hostile strings, by hand (not in CI, not in `make bench`): what one metadata value of the
longest length redaction scans (1,024 characters: MAX_STRING × 2, the cut made before the scan) costs, for
this tree and a base commit.

    python bench/bench_redaction_bombs.py [--base-commit 52b03b9] [--rounds 5]

Each bomb is a short unit repeated to 1,024 characters, shaped so that a secret's name can start and end at
many places: a pattern that backtracks over every (start, end) pair of a name costs cubic time on it. Each tree
runs in a child process (its own `processors`), and prints, per bomb, CPU milliseconds of `redact_text` as
median (min–max) of the rounds, and what it would cost an event whose 25 allow-listed keys all carry it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, base_tree, spread

LENGTH = 1024
KEYS_PER_EVENT = 25  # about the engine's and the shipped spec's allow-listed keys
BOMBS = {  # name: (a prefix that makes the quick pre-check scan every shape, the unit repeated)
    "negated options": ("", "--no-password"),
    "options": ("", "--password-"),
    "names without a value": ("", "no-apikey"),
    "a run of backslashes": ("token ", "\\"),
    "a scheme without ://": ("://", "-A"),
    "path segments of action words": ("", "/reset-verify-"),
    "mysql commands without -p<value>": ("", "mysql -p -u'"),
    "config elements without a value": ("", '<add key="token" '),
    "config elements with a value first and no key": ("", '<add value="token" '),
    "escaped config elements with a value first": ("", "&lt;add value=&quot;token "),
    "escaped config elements without a value": ("", "&lt;add key=&quot;token&quot; "),
    "mysql commands with an unclosed quote": ("-p ", 'mysql -e "'),
    "mysql commands of quoted arguments": ("-p mysql ", '"x" '),
    "chained pairs": ("token=", "a = "),
    "chains after redacted values": ("token ", "=[REDACTED] = null "),
    "clean prose": ("", "the deploy of repository acme finished "),
}


def child(root: str, rounds: int) -> None:
    sys.path.insert(0, root)
    from processors.stitching.redaction import redact_text

    result = {}
    for name, (prefix, unit) in BOMBS.items():
        text = (prefix + unit * (LENGTH // len(unit) + 1))[:LENGTH]
        timings = []
        for _ in range(rounds):
            started = time.process_time()
            redact_text(text)
            timings.append((time.process_time() - started) * 1000)
        result[name] = timings
    print(json.dumps(result))


def measure(root: Path, rounds: int) -> dict[str, list[float]]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--rounds", str(rounds)],
        check=True, capture_output=True, text=True, cwd=root,
    ).stdout
    return json.loads(output)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-commit", default="52b03b9")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return
    before = measure(base_tree(args.base_commit), args.rounds)
    after = measure(ROOT, args.rounds)
    print(f"redact_text of one {LENGTH}-character value, CPU ms, median (min–max) of {args.rounds} rounds; "
          f"× {KEYS_PER_EVENT}: one event with it in every allow-listed key (median)")
    base, keys = args.base_commit, KEYS_PER_EVENT
    print(f"| bomb | {base} | this tree | {base} × {keys} | this tree × {keys} |")
    print("|---|---|---|---|---|")
    for name in BOMBS:
        old, new = before[name], after[name]
        print(f"| {name} | {spread(old, '{:,.2f}')} | {spread(new, '{:,.2f}')} | "
              f"{sorted(old)[len(old) // 2] * KEYS_PER_EVENT / 1000:,.2f} s | "
              f"{sorted(new)[len(new) // 2] * KEYS_PER_EVENT / 1000:,.3f} s |")


if __name__ == "__main__":
    main()
