"""Compiles each Lambda package that `sam build` wrote to bytecode, so a cold start does not compile it again.

    python3.11 sam/precompile.py .aws-sam/build/*/              # what `make sam-build` runs after `sam build`
    python3.11 sam/precompile.py --template sam/template.yaml DIR...

`sam build` ships no bytecode. aws-lambda-builders' python_pip workflow copies our source without any *.pyc or
__pycache__, and it installs the dependencies by unzipping their wheels, which have none. /var/task is read-only,
so every cold start compiled each module it imported, boto3's and botocore's too, and threw the result away. That
made a handler's import 2-3x slower (README, Cold start).

The .pyc files are hash-based (PEP 552), in checked mode. `sam package` dates every zip entry 1980, so a source's
mtime never matches the one a timestamp .pyc records. A checked .pyc is used while its source's hash matches it.
Hashing the ~2 MB of source a handler imports costs ~3 ms of a ~130 ms import. In exchange, a source edited inside
.aws-sam/build (to debug with `sam local invoke`) is still the code that runs. Each file records the path it has in
/var/task, so a build gives the same bytes whatever the checkout's path.

Only the Python minor version that wrote a .pyc reads it, so this refuses to run under another version than the
template's runtime.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks a function's zip
MODE = py_compile.PycInvalidationMode.CHECKED_HASH


class PrecompileError(Exception):
    """The packages can't be compiled for the template's runtime; the message is one line."""


def runtime_version(template: Path) -> tuple[int, int]:
    """The Python version (major, minor) that every function of the template runs (`Runtime: python3.11`)."""
    found = set(re.findall(r"^\s+Runtime:\s*[\"']?python(\d+)\.(\d+)\b", template.read_text(), flags=re.M))
    if len(found) != 1:
        names = ", ".join(sorted(f"python{major}.{minor}" for major, minor in found)) or "none"
        raise PrecompileError(f"{template}: expected one Python runtime for every function, found {names}")
    major, minor = found.pop()
    return int(major), int(minor)


def check_python(template: Path) -> None:
    """Refuses unless this interpreter is the template's runtime version: another one's bytecode is ignored."""
    wanted = runtime_version(template)
    if sys.version_info[:2] != wanted:
        version = "{}.{}".format(*wanted)
        raise PrecompileError(f"{template}: the functions run python{version}, but this is Python "
                              f"{sys.version_info.major}.{sys.version_info.minor}, whose bytecode python{version} "
                              f"would not read; run this with python{version}")


def compile_package(package: Path) -> int:
    """Writes a checked-hash .pyc beside every .py under `package`. Returns how many .py files there are."""
    root = str(package.resolve())
    ok = compileall.compile_dir(root, quiet=1, force=True, workers=0, stripdir=root,
                                prependdir=LAMBDA_TASK_ROOT, invalidation_mode=MODE)
    if not ok:
        raise PrecompileError(f"{package}: some sources did not compile (listed above)")
    return sum(1 for _ in package.rglob("*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("packages", nargs="+", type=Path, help="a function's package (.aws-sam/build/<Function>/)")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="its runtime is the Python to compile for")
    args = parser.parse_args(argv)
    try:
        check_python(args.template)
        missing = [str(package) for package in args.packages if not package.is_dir()]
        if missing:
            raise PrecompileError(f"not a directory: {', '.join(missing)}")
        for package in args.packages:
            count = compile_package(package)
            print(f"{package}: {count} sources compiled to checked-hash bytecode for Python "
                  f"{sys.version_info.major}.{sys.version_info.minor}")
    except PrecompileError as exc:
        print(f"precompile: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
