"""`slo export --format openslo [--spec SPEC] [--out FILE]`: the compiled spec as OpenSLO v1 documents.

Re-importing the output (every command reads OpenSLO v1) gives an equal compiled spec; docs/openslo.md
describes the mapping.
"""

from __future__ import annotations

import argparse
import sys

from processors.cli.common import UsageError, add_spec_argument, kept_text, load_spec_argument
from processors.safety import open_to_write

# the Service's metadata.name, read back as an SLO's name is: printable, at most 200 characters (spec/loader.py)
SERVICE_NAME = kept_text(200, "name the service")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write the spec in another format (OpenSLO v1)")
    parser.add_argument("--format", choices=("openslo",), default="openslo", help="output format (openslo)")
    parser.add_argument("--service", default="slo-pipeline", type=SERVICE_NAME,
                        help="the OpenSLO Service the SLOs belong to (a name as an SLO's: at most 200 characters)")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    add_spec_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.spec import loader
    from processors.spec.openslo import export_openslo

    spec = load_spec_argument(args)
    text = export_openslo(spec, service=args.service)
    size = len(text.encode("utf-8"))
    if size > loader.MAX_SPEC_BYTES:  # written, no command would read it back
        raise UsageError(
            f"export: the OpenSLO form of this spec is {size // 1024:,} KiB, over the {loader.MAX_SPEC_BYTES // 1024:,}"
            " KiB any command reads; split the spec"
        )
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        with open_to_write(args.out) as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"export: cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {len(spec.slos)} SLOs as OpenSLO v1 to {args.out}", file=sys.stderr)
    return 0
