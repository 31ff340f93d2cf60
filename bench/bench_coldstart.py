"""Cold start: each handler's import CPU in a fresh interpreter, against `import boto3` alone in the same run.

    python bench/bench_coldstart.py            # median of 7 interleaved rounds (min..max), CPU time
    python bench/bench_coldstart.py --rounds 11

Handlers are read from sam/template.yaml (every `Handler:`), imported with the template's environment
(POWERTOOLS_TRACE_DISABLED as the template sets it). The measure is process CPU time around the import in a
fresh `python -c`, so a busy machine changes it less than wall time would. Every module is imported from three
trees, interleaved, with PYTHONDONTWRITEBYTECODE=1:
- source: sam/src's two packages with no bytecode, the dependencies from this venv with theirs (the only row
  printed before);
- `sam build`: the package as plain `sam build` lays it out in /var/task, sam/src's packages beside a copy of
  every dependency module the handlers import, with no bytecode at all, as `sam build` ships it;
- `make sam-build`: that package compiled by sam/precompile.py, as `make sam-build` compiles it: what is deployed.
The baseline is `import boto3` from this venv with its bytecode, as the Lambda runtime has its own boto3.
Goal: every handler as deployed ≤ 1.5× boto3. Runs under the template's Python version only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "sam" / "template.yaml"
GOAL = 1.5
SITE_PACKAGES = tuple(sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}))
# The second line names the top-level packages the import took from site-packages: none, for a package's tree.
PROBE = ("import sys, time; before = set(sys.modules); t = time.process_time(); import {module}; "
         "t = time.process_time() - t; print(t); print('site:', *(sorted({{n.split('.')[0] for n in set(sys.modules) "
         "- before if (getattr(sys.modules[n], '__file__', None) or '').startswith({site!r})}})))")
NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")
TREES = ("source", "sam build", "make sam-build")


def handlers() -> list[str]:
    text = TEMPLATE.read_text()
    return sorted({m.rsplit(".", 1)[0] for m in re.findall(r"^\s+Handler:\s*(\S+)", text, flags=re.M)})


def template_env() -> dict[str, str]:
    text = TEMPLATE.read_text()
    match = re.search(r'POWERTOOLS_TRACE_DISABLED:\s*"?(\w+)"?', text)
    env = dict(os.environ)
    env["POWERTOOLS_TRACE_DISABLED"] = match.group(1) if match else "false"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def probe(module: str, tree: Path, env: dict[str, str]) -> tuple[float, list[str]]:
    """CPU seconds of `import module` with `tree` first on sys.path, and what it took from site-packages."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module, site=SITE_PACKAGES)], cwd=tree,
                         env=env, capture_output=True, text=True, check=True)
    seconds, from_site = out.stdout.splitlines()[-2:]
    return float(seconds), from_site.split()[1:]


def dependencies(modules: list[str], env: dict[str, str], tree: Path) -> set[str]:
    """Every top-level name in site-packages (package directory or module file) that importing `modules` loads."""
    names: set[str] = set()
    for module in modules:
        names.update(probe(module, tree, env)[1])
    entries = set()
    for site in SITE_PACKAGES:
        for path in Path(site).iterdir():
            if path.name.split(".")[0] in names and not path.name.endswith((".dist-info", ".pth")):
                entries.add(str(path))
    return entries


def build_trees(base: Path, modules: list[str], env: dict[str, str]) -> dict[str, Path]:
    source = base / "source"
    shutil.copytree(ROOT / "sam" / "src", source, ignore=NO_BYTECODE)  # follows sam/src's symlinks, as sam build
    package = base / "sam-build"
    shutil.copytree(source, package)
    for entry in sorted(dependencies(modules, env, source)):
        path = Path(entry)
        if path.is_dir():
            shutil.copytree(path, package / path.name, ignore=NO_BYTECODE)
        else:
            shutil.copy2(path, package / path.name)
    compiled = base / "make-sam-build"
    shutil.copytree(package, compiled)
    build = subprocess.run([sys.executable, str(ROOT / "sam" / "precompile.py"), "--template", str(TEMPLATE),
                            str(compiled)], capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(build.stderr.strip() or build.stdout.strip())
    return {"source": source, "sam build": package, "make sam-build": compiled}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = template_env()
    modules = ["boto3", *handlers()]
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        trees = build_trees(Path(tmp), modules, env)
        for _ in range(args.rounds):  # interleaved: a busy spell hits every module and tree alike
            for module in modules:
                for label, tree in trees.items():
                    seconds, from_site = probe(module, tree, env)
                    if label != "source" and from_site:
                        raise SystemExit(f"{module} took {', '.join(from_site)} from {SITE_PACKAGES[0]}, "
                                         f"not from the packaged tree")
                    samples.setdefault((module, label), []).append(seconds)
    base = statistics.median(samples[("boto3", "source")])
    print(f"import CPU time (ms), median of {args.rounds} fresh interpreters (min..max); "
          f"POWERTOOLS_TRACE_DISABLED={env['POWERTOOLS_TRACE_DISABLED']}; × = ÷ `import boto3` from the venv, "
          f"with its bytecode ({base * 1000:.0f} ms)")
    print("| module | source: CPU ms | × boto3 | `sam build`: CPU ms | × boto3 | `make sam-build`: CPU ms "
          "| × boto3 | goal ≤ 1.5× (`make sam-build`) |")
    print("|---|---|---|---|---|---|---|---|")
    for module in modules:
        cells = []
        for label in TREES:
            values = samples[(module, label)]
            median = statistics.median(values)
            cells += [f"{median * 1000:.0f} ({min(values) * 1000:.0f}..{max(values) * 1000:.0f})",
                      f"{median / base:.2f}×"]
        deployed = statistics.median(samples[(module, "make sam-build")]) / base
        verdict = "" if module == "boto3" else ("met" if deployed <= GOAL else "not met")
        print(f"| {module} | {' | '.join(cells)} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
