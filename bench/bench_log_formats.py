#!/usr/bin/env python3
"""The log-format layer's cost per line shape, against `json.loads` of the same lines (the floor: every
shape has to be parsed once). Run by hand:

    .venv/bin/python bench/bench_log_formats.py [--lines 20000] [--repeats 7]

CPU time (process_time) per pass; median and spread (min-max) over the repeats; both timed in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processors.decoding import DEFAULT_PARSER, LineParser, Position  # noqa: E402
from processors.spec.model import LogFormat  # noqa: E402
from tests import shapes  # noqa: E402


def cpu(run: Callable[[], None], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warn = LineParser(LogFormat(validation="warn"))
    cases = {name: make() for name, make in shapes.LINE_SHAPES.items()}
    print(f"{'shape':26} {'lines/s (CPU)':>16} {'x json.loads':>14}   median, spread over {args.repeats} runs")
    for name, sample in [*cases.items(), ("schema v1, validation warn", cases["schema v1"])]:
        lines = (sample * (args.lines // len(sample) + 1))[: args.lines]
        line_parser = warn if "warn" in name else DEFAULT_PARSER

        def floor(lines: list[str] = lines) -> None:
            for line in lines:
                with contextlib.suppress(ValueError):  # a platform text line
                    json.loads(line)

        def ours(lines: list[str] = lines, parse: LineParser = line_parser) -> None:
            notes: Counter[str] = Counter()
            for line in lines:
                parse.parse(line, 1790812800000, Position(1), "g", notes)

        floor_times, our_times = cpu(floor, args.repeats), cpu(ours, args.repeats)
        ratios = [f / o for f, o in zip(floor_times, our_times, strict=True)]
        rate = args.lines / statistics.median(our_times)
        print(f"{name:26} {rate:>16,.0f} {statistics.median(ratios):>13.2f}x   "
              f"({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
