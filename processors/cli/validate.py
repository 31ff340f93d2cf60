"""`slo validate [SPEC] [--strict]`: check an SLO spec; errors give file:line and the field.

Warnings (processors/spec/lint.py: a likely typo in an action) go to stderr, one line each; `--strict`
turns them into errors (exit 2).
"""

from __future__ import annotations

import argparse
import sys

from processors.cli.common import UsageError
from processors.safety import printable


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="validate an SLO spec (default ./slos.yaml)")
    parser.add_argument("spec", nargs="?", metavar="SPEC", help="spec file")
    parser.add_argument("--strict", action="store_true", help="treat warnings (e.g. a likely action typo) as errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.spec import SpecError, load_spec
    from processors.spec.lint import lint

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    warnings = lint(spec)
    if warnings and args.strict:
        for warning in warnings[1:]:
            print(f"slo: error: {printable(warning.as_error())}", file=sys.stderr)
        raise UsageError(warnings[0].as_error())
    for warning in warnings:
        print(f"slo: {printable(str(warning))}", file=sys.stderr)
    print(f"{spec.source}: valid, {len(spec.slos)} SLOs, {len(spec.latency)} latency sketches")
    for slo in spec.slos:
        print(f"  {slo.name:<20} {slo.kind:<11} objective {slo.objective:<7g} window {slo.window_label}")
    return 0
