"""`slo dashboards`: generate the five CloudWatch dashboards from the SLO spec.

Writes OUT/*.json and rewrites the GENERATED blocks of the SAM template (default: OUT/../template.yaml),
because CloudFormation cannot read local files. `--check` changes nothing and exits 1 when either is stale.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from processors.cli.common import UsageError, add_spec_argument, load_spec_argument
from processors.safety import NotRegularFileError, read_regular_file

MAX_TEMPLATE_BYTES = 4 * 1024 * 1024  # the SAM template is about 50 KB


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboards", help="generate the CloudWatch dashboards", description=__doc__
    )
    parser.add_argument("--out", metavar="DIR", default="sam/dashboards", help="JSON output directory")
    template = parser.add_mutually_exclusive_group()
    template.add_argument(
        "--template", metavar="FILE", help="SAM template to update (default OUT/../template.yaml)"
    )
    template.add_argument("--no-template", action="store_true", help="write the JSON files only")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are not up to date")
    add_spec_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.dashboards import (
        DashboardError,
        build_dashboards,
        render,
        rewrite_template,
        slos_from_spec,
    )
    from processors.insights import InsightsError, queries
    from processors.insights import rewrite_template as rewrite_queries

    spec = load_spec_argument(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file, not a folder")
    dashboards = build_dashboards(slos_from_spec(spec), targets=spec.targets, metrics=spec.metrics)
    wanted: dict[Path, str] = {out / f"{name}.json": render(body) for name, body in dashboards.items()}
    if not args.no_template:
        template = Path(args.template) if args.template else out.parent / "template.yaml"
        if not template.is_file():
            raise UsageError(f"no template at {template} (give --template FILE, or --no-template)")
        try:
            text = rewrite_template(_read_template(template), dashboards)
            wanted[template] = rewrite_queries(text, queries(spec))  # the saved Logs Insights queries too
        except (DashboardError, InsightsError) as exc:
            raise UsageError(f"{template}: {exc}") from exc
    try:
        stale = [path for path, text in wanted.items() if _is_stale(path, text)]
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    if args.check:
        for path in stale:
            print(f"stale: {path} (run `slo dashboards --out {args.out}`)")
        return 1 if stale else 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path in stale:
            path.write_text(wanted[path], encoding="utf-8")
            print(f"wrote {path}")
    except OSError as exc:  # a folder that cannot be made (/proc/x), a read-only file
        raise UsageError(f"--out: cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    if not stale:
        print("dashboards up to date")
    return 0


def _read_template(template: Path) -> str:
    """The template's text: a regular UTF-8 file of at most MAX_TEMPLATE_BYTES, else a one-line error."""
    try:
        data = _read_regular_file(template, MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {template}: {exc.strerror or exc}") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise UsageError(f"{template}: larger than {MAX_TEMPLATE_BYTES // (1024 * 1024)} MiB; not a SAM template")
    text = _decode(data)
    if text is None:
        raise UsageError(f"{template}: not UTF-8 text")
    return text


def _is_stale(path: Path, text: str) -> bool:
    """Whether `path` does not hold `text`. A missing file, or one that is not UTF-8, is stale: it is
    generated, so it is rewritten. Only what could equal `text` is read (CRLF line ends at most double it)."""
    try:
        data = _read_regular_file(path, 2 * len(text.encode("utf-8")) + 2)
    except (FileNotFoundError, NotADirectoryError):
        return True
    return _decode(data) != text


def _decode(data: bytes) -> str | None:
    """UTF-8 with universal newlines (what Path.read_text gives), or None when it is not UTF-8."""
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        return None


def _read_regular_file(path: Path, limit: int) -> bytes:
    """safety.read_regular_file, a folder, FIFO or device refused in one line."""
    try:
        return read_regular_file(path, limit)
    except NotRegularFileError as exc:
        raise UsageError(str(exc)) from None
