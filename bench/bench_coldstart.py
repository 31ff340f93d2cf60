"""Cold start: each handler's import CPU in a fresh interpreter, against `import boto3` alone in the same run.

    python bench/bench_coldstart.py            # median of 7 interleaved rounds (min..max), CPU time
    python bench/bench_coldstart.py --rounds 11

Handlers are read from sam/template.yaml (every `Handler:`), imported with the template's environment
(POWERTOOLS_TRACE_DISABLED as the template sets it). The measure is process CPU time around the import in a
fresh `python -c`, so a busy machine changes it less than wall time would. Goal: every handler ≤ 1.5× boto3.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5
PROBE = "import time; t = time.process_time(); import {module}; print(time.process_time() - t)"


def handlers() -> list[str]:
    text = (ROOT / "sam" / "template.yaml").read_text()
    return sorted({m.rsplit(".", 1)[0] for m in re.findall(r"^\s+Handler:\s*(\S+)", text, flags=re.M)})


def template_env() -> dict[str, str]:
    text = (ROOT / "sam" / "template.yaml").read_text()
    match = re.search(r'POWERTOOLS_TRACE_DISABLED:\s*"?(\w+)"?', text)
    env = dict(os.environ)
    env["POWERTOOLS_TRACE_DISABLED"] = match.group(1) if match else "false"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def cpu_of(module: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = template_env()
    modules = ["boto3", *handlers()]
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(args.rounds):  # interleaved: a busy spell hits every module alike
        for module in modules:
            samples[module].append(cpu_of(module, env))
    base = statistics.median(samples["boto3"])
    print(f"import CPU time (ms), median of {args.rounds} fresh interpreters (min..max); "
          f"POWERTOOLS_TRACE_DISABLED={env['POWERTOOLS_TRACE_DISABLED']}")
    print("| module | CPU ms | × import boto3 | goal ≤ 1.5× |")
    print("|---|---|---|---|")
    for module in modules:
        values = samples[module]
        median = statistics.median(values)
        ratio = median / base
        verdict = "" if module == "boto3" else ("met" if ratio <= GOAL else "not met")
        print(f"| {module} | {median * 1000:.0f} ({min(values) * 1000:.0f}..{max(values) * 1000:.0f}) "
              f"| {ratio:.2f}× | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
