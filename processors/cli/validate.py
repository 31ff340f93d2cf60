"""`slo validate [SPEC]`: check an SLO spec; errors give file:line and the field."""

from __future__ import annotations

import argparse

from processors.cli.common import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="validate an SLO spec (default ./slos.yaml)")
    parser.add_argument("spec", nargs="?", metavar="SPEC", help="spec file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.spec import SpecError, load_spec

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    print(f"{spec.source}: valid, {len(spec.slos)} SLOs, {len(spec.latency)} latency sketches")
    for slo in spec.slos:
        print(f"  {slo.name:<20} {slo.kind:<11} objective {slo.objective:<7g} window {slo.window_label}")
    return 0
