"""The `slo` command: a thin shell over the same domain functions the Lambda handlers use.

Each command lives in its own module with `register(subparsers)`; a user mistake raises `UsageError`,
which prints one line on stderr and exits 2. Nothing a user types should end in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from processors.cli.common import UsageError, check_arguments
from processors.safety import printable
from processors.store.exceptions import StoreError

# Command modules, in the order `slo --help` lists them.
COMMAND_MODULES = (
    "processors.cli.replay",
    "processors.cli.backtest",
    "processors.cli.importing",
    "processors.cli.backfill",
    "processors.cli.report",
    "processors.cli.status",
    "processors.cli.scorecard",
    "processors.cli.alerts",
    "processors.cli.silence",
    "processors.cli.correct",
    "processors.cli.trace",
    "processors.cli.metrics",
    "processors.cli.validate",
    "processors.cli.export",
    "processors.cli.emit",
    "processors.cli.bootstrap",
    "processors.cli.local_dynamodb",
    "processors.cli.subscribe",
    "processors.cli.dashboards",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slo", description="Log-native SLOs, traces and burn-rate paging.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # stored text may hold a lone surrogate (JSON can escape one): print
        reconfigure = getattr(stream, "reconfigure", None)  # it as \udXXX rather than fail on it
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        check_arguments(arguments)
        args = build_parser().parse_args(arguments)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit: a full disk or closed stdout fails inside the handlers below
        return code
    except UsageError as exc:
        _error(str(exc))
        return 2
    except (StoreError, BotoCoreError, ClientError) as exc:  # the store or AWS refused: one line, no traceback
        _error(" ".join(str(exc).split()))
        return 2
    except sqlite3.DatabaseError as exc:  # a SQLite file damaged past what opening it checks (pages, rows)
        _error(f"the SQLite store is damaged: {' '.join(str(exc).split())}")
        return 2
    except KeyboardInterrupt:
        print("slo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (| head): stop quietly, and let the exit's flush find nowhere to fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing the output failed (a full disk: > /dev/full), or a file no check foresaw
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2


MAX_ERROR_CHARS = 1000  # an argument quoted back (Linux allows 128 KiB each) is cut, not repeated whole


def _error(message: str) -> None:
    if len(message) > MAX_ERROR_CHARS:
        message = f"{message[:MAX_ERROR_CHARS]}… ({len(message):,} characters)"
    print(f"slo: error: {printable(message)}", file=sys.stderr)  # a file name's newline or escape, quoted


if __name__ == "__main__":
    sys.exit(main())
