#!/usr/bin/env python3
"""What compiling the ingest path would buy: this tree's ingest stages, pure Python against the same modules
compiled with mypyc, interleaved, in one run. Evidence for issue #15's open decision, not a shipped build:
`sam build` packages the pure-Python modules, and nothing here changes what the Lambdas or `slo` run.

    python bench/compiled.py [--rounds 5] [--records 10000]

It copies `processors/` to a temporary folder, compiles the modules of the ingest path there with mypyc (the
one shipped with mypy, a dev dependency; it needs a C compiler and the Python headers), and runs
bench/probes.py's ingest probe on both trees. Ratios are CPU time, the floor's over the stage's, as
`make bench` prints them (bench/harness.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, STAGES, distinct_records, run_probe, spread

# The modules every ingested event passes through. processors/store/sqlite.py is left out: mypyc 2.x fails on
# its @contextmanager method that overrides the port's (an internal error); its cost is SQLite's own C anyway.
COMPILED = (
    "processors/decoding/records.py",
    "processors/decoding/formats.py",
    "processors/decoding/types.py",
    "processors/classifying/classify.py",
    "processors/stitching/stitch.py",
    "processors/stitching/model.py",
    "processors/stitching/redaction.py",
    "processors/ingest/service.py",
    "processors/ingest/chunking.py",
    "processors/ingest/grouping.py",
    "processors/counting.py",
    "processors/timeutil.py",
    "processors/store/keys.py",
)


def compiled_tree(folder: Path) -> Path:
    if shutil.which("mypyc") is None and not (Path(sys.executable).parent / "mypyc").exists():
        raise SystemExit("compiled: mypyc not found (it comes with mypy: pip install -e '.[dev]')")
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        raise SystemExit("compiled: no Python.h: the Python headers are needed to build extension modules")
    tree = folder / "tree"
    shutil.copytree(ROOT / "processors", tree / "processors", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for name in ("slos.yaml", "pyproject.toml"):  # the spec the probe loads; mypy's settings mypyc reads
        shutil.copy(ROOT / name, tree / name)
    mypyc = shutil.which("mypyc") or str(Path(sys.executable).parent / "mypyc")
    print(f"compiling {len(COMPILED)} modules with mypyc ...", file=sys.stderr, flush=True)
    built = subprocess.run([mypyc, *COMPILED], cwd=tree, capture_output=True, text=True,
                           env={**os.environ, "MYPYC_OPT_LEVEL": "3"})
    if built.returncode != 0:
        raise SystemExit(f"compiled: mypyc failed:\n{(built.stdout + built.stderr)[-3000:]}")
    shutil.rmtree(tree / "build", ignore_errors=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    records = str(distinct_records(args.records))
    with tempfile.TemporaryDirectory() as folder:
        trees = {"pure Python": ROOT, "mypyc": compiled_tree(Path(folder))}
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds}", file=sys.stderr, flush=True)
            for name, tree in trees.items():  # interleaved: pure, compiled, pure, compiled, ...
                results[name].append(run_probe(tree, "ingest", "--input", records))
    print(f"ingest stages, {args.records:,} distinct records, {args.rounds} interleaved rounds; "
          "x the floor (CPU), median (min-max)\n")
    print("| stage | pure Python | mypyc | compiled CPU / pure CPU |")
    print("|---|---|---|---|")
    for stage, label in STAGES:
        ratios = {name: [run["floor"]["cpu"] / run[stage]["cpu"] for run in runs] for name, runs in results.items()}
        cpu = {name: [run[stage]["cpu"] for run in runs] for name, runs in results.items()}
        speed = statistics.median(cpu["mypyc"]) / statistics.median(cpu["pure Python"])
        print(f"| {label} | {spread(ratios['pure Python'], '{:.3f}')}× | {spread(ratios['mypyc'], '{:.3f}')}× "
              f"| {speed:.2f} |")


if __name__ == "__main__":
    main()
