"""Shared CLI plumbing: the one-line user error, store selection flags, time and duration arguments."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from processors import conventions
from processors.safety import has_control_characters, printable

if TYPE_CHECKING:
    from processors.spec import Spec
    from processors.store import Store


class UsageError(Exception):
    """A mistake the user can fix: printed as one line on stderr, exit code 2."""


def check_arguments(argv: Sequence[str]) -> None:
    """Every argument is UTF-8 text (argv holds lone surrogates for bytes that are not) and none is empty:
    an empty value would read as an absent one (`--at ""` as the newest minute, a path "" as this folder)."""
    previous = ""
    for argument in argv:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"not UTF-8 text: {ascii(argument)[:80]}") from None
        name, equals, value = argument.partition("=")
        if argument == "" or (argument.startswith("--") and equals and not value):
            flag = name if argument else previous
            raise UsageError(f"{flag}: empty value" if flag.startswith("-") else "an empty argument")
        previous = argument


def free_text(text: str) -> str:
    """argparse type of text that is kept and printed (a reason, a name): no newline, escape or other control."""
    if has_control_characters(text):
        raise argparse.ArgumentTypeError(
            f"control characters (newline, tab, escape, bidirectional override) are not allowed: {text!r}"
        )
    return text


def shown(text: str, limit: int = 64) -> str:
    """An argument quoted back in an error line, cut after `limit` characters: what it is, not all of it."""
    return repr(text if len(text) <= limit else f"{text[:limit]}…")


MAX_REASON_CHARS = 1000  # a --reason is kept with each silence and correction, and listed by status and the report
MAX_BY_CHARS = 200  # a --by names a person or a tool


def kept_text(limit: int, blank: str) -> Callable[[str], str]:
    """argparse type of text kept in the store (a --reason, a --by): free_text of at most `limit` characters, not
    blank (`blank` says what to give instead), stripped. An argument may be 128 KiB, a call of main any length."""

    def check(text: str) -> str:
        if len(text) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit:,} characters, not {len(text):,}")
        if not text.strip():
            raise argparse.ArgumentTypeError(f"blank: {blank}")
        return free_text(text).strip()

    return check


REASON = kept_text(MAX_REASON_CHARS, "say why (it is kept)")
BY = kept_text(MAX_BY_CHARS, "say who, or leave --by out for the login name")


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("store")
    group.add_argument(
        "--db",
        metavar="FILE",
        default=conventions.DEFAULT_DB_PATH,
        help=f"SQLite store file (default {conventions.DEFAULT_DB_PATH})",
    )
    group.add_argument("--store", choices=("sqlite", "dynamodb"), default="sqlite", help="store adapter")
    group.add_argument("--table", metavar="NAME", help="DynamoDB table name (with --store dynamodb)")
    group.add_argument("--endpoint-url", metavar="URL", help="DynamoDB endpoint, e.g. moto or LocalStack")



def require_table(client: Any, table: str, endpoint_url: str | None) -> None:
    """A missing table is the user's to fix: say which, and how."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.describe_table(TableName=table)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            where = endpoint_url or "this AWS account and region"
            raise UsageError(f"no DynamoDB table {table!r} at {where}: create it with `slo bootstrap`") from None
        raise UsageError(f"DynamoDB table {table!r}: {exc}") from None
    except BotoCoreError as exc:
        raise UsageError(f"DynamoDB at {endpoint_url or 'AWS'}: {exc}") from None


def check_endpoint_url(url: str | None) -> None:
    """An --endpoint-url botocore would refuse with a traceback (`localhost:8000`, `http//x`) is one line."""
    from urllib.parse import urlsplit

    if url is None:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--endpoint-url: not an http(s) URL: {url!r} (e.g. http://localhost:8000)")


def add_spec_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        metavar="FILE",
        default=None,
        help="SLO spec (default: ./slos.yaml if present, else the packaged default)",
    )


def open_store(args: argparse.Namespace, *, must_exist: bool = False, writes: bool = False) -> Store:
    """The store the flags select; a missing SQLite file is a usage error for read-only commands (`must_exist`),
    which open it read-only. With `writes` too, a command that only changes a store already there (`silence
    remove`, `backfill`) opens it for writing once a read-only open found one in it: a writable open would make
    the file (and its folder), or write the schema into a zero-byte one, before the command refused. Use it as
    `with open_store(args) as store:`, which closes the store before the command returns (Store.__exit__)."""
    from processors.store import open_dynamodb_store, open_sqlite_store

    if args.store == "dynamodb":
        table = args.table or os.environ.get(conventions.ENV_TABLE_NAME)
        if not table:
            raise UsageError("--store dynamodb needs --table NAME (or SLO_TABLE_NAME)")
        check_endpoint_url(args.endpoint_url)
        store = open_dynamodb_store(table, endpoint_url=args.endpoint_url, region=getattr(args, "region", None))
        require_table(store.client, table, args.endpoint_url)  # never created implicitly: `slo bootstrap` does
        return store
    if must_exist and not os.path.exists(args.db):
        raise UsageError(f"no store at {args.db}: run `slo replay PATH --db {args.db}` first")
    if os.path.exists(args.db) and not os.path.isfile(args.db):  # a FIFO would block a read-only open for good
        raise UsageError(f"--db: {args.db} is not a regular file (a SQLite store is one)")
    if must_exist and writes:
        open_sqlite_store(args.db, read_only=True).close()
        return open_sqlite_store(args.db)
    return open_sqlite_store(args.db, read_only=must_exist)  # read-only commands never create or change it


def check_not_an_input(path: str | None, flag: str, args: argparse.Namespace) -> None:
    """An output file that is the SQLite store (its write-ahead log or index included) or the spec, through a link
    or not, is refused: writing it would destroy an input (`--out` swapped with `--db` or `--spec`)."""
    if path is None or not os.path.exists(path):
        return
    inputs = [(part, f"the store --db {args.db}") for part in (args.db, f"{args.db}-wal", f"{args.db}-shm",
                                                            f"{args.db}-journal")] if args.store == "sqlite" else []
    if getattr(args, "spec", None):
        inputs.append((args.spec, f"the spec --spec {args.spec}"))
    for part, what in inputs:
        try:
            same = os.path.samefile(path, part)
        except OSError:  # not there (or not reachable): not the file
            continue
        if same:
            raise UsageError(f"{flag}: {path} is {what}; write elsewhere")


def print_skipped(error: Exception) -> None:
    """A folder's file that holds no log events, left out of a replay or backfill (sources.checked_inputs)."""
    print(f"slo: skipping {printable(str(error))}", file=sys.stderr)  # the name is the folder writer's


def check_alert_log(log: Sequence[Any]) -> None:
    """A transition the alert log holds in a shape the evaluator never writes (a hand edit, another program) is
    one line naming it, as any damaged item is, not a traceback where it is printed."""
    from processors.alerting.history import damaged_field
    from processors.store.exceptions import CorruptItemError

    for transition in log:
        damage = damaged_field(transition)
        if damage is not None:
            name = transition.get("id", "?") if isinstance(transition, dict) else "?"
            raise CorruptItemError(f"a damaged store: alert transition {name!r}: {damage}")


def load_spec_argument(args: argparse.Namespace) -> Spec:
    from processors.spec import SpecError, load_spec

    try:
        return load_spec(getattr(args, "spec", None))
    except SpecError as exc:
        raise UsageError(str(exc)) from exc


@dataclass(frozen=True)
class Horizon:
    """The latest time the commands that read what has happened (status, metrics, scorecard, alerts, report,
    trace) are asked about: a later --at, --since, --until or --month would read as empty data, a silent wrong
    answer, so it is refused in one line naming the argument. Silences and corrections, which may be planned,
    and import and backfill, which have their own bounds, take other times."""

    seconds: int
    what: str  # what it is, for the error: "now" or "the newest data"
    shown: int  # the time the error gives for it

    def check(self, seconds: float, flag: str, text: str) -> None:
        from processors.timeutil import iso_seconds

        if seconds > self.seconds:
            raise UsageError(f"{flag}: {text!r} has not happened yet: it is after {self.what} "
                             f"({iso_seconds(self.shown)})")


def horizon(store: Store) -> Horizon:
    """Now, allowing the scheduled evaluator's CLOCK_SKEW_SECONDS for this clock running behind the one that
    wrote the store; or the end of the store's newest minute with data when that is later (ingest believes an
    event up to a day ahead of its arrival), so whatever `slo status` shows by default can be asked for."""
    now = int(time.time())
    newest = store.default_at()
    if newest is not None and newest > now + conventions.CLOCK_SKEW_SECONDS:
        return Horizon(newest, "the newest data", newest)
    return Horizon(now + conventions.CLOCK_SKEW_SECONDS, "now", now)


def past_time_argument(text: str, flag: str, latest: Horizon) -> float:
    """An ISO 8601 time of a reading command, in epoch seconds: one that has not happened yet is refused."""
    seconds = parse_time_argument(text, flag).timestamp()
    latest.check(seconds, flag, text)
    return seconds


def resolve_at(args: argparse.Namespace, store: Store, latest: Horizon | None = None) -> int:
    """--at, minute-aligned (at most `latest`, by default the store's horizon), or the end of the newest minute
    with ingested data."""
    from processors.timeutil import MIN_EPOCH, floor_to

    if getattr(args, "at", None) is not None:
        at = floor_to(past_time_argument(args.at, "--at", latest or horizon(store)), conventions.MINUTE)
        if at - conventions.MINUTE < MIN_EPOCH:  # the minute it ends would be clamped to nothing
            raise UsageError(f"--at: {args.at!r}: the minute that ends there would start before year 1")
        return at
    newest = store.default_at()
    if newest is None:
        raise UsageError("the store holds no events yet: run `slo replay PATH` first, or pass --at")
    return newest


def parse_time_argument(text: str, flag: str) -> datetime:
    from processors.timeutil import parse_iso8601

    parsed = parse_iso8601(text)
    if parsed is None:
        raise UsageError(f"{flag}: not an ISO 8601 time: {text!r} (e.g. 2026-10-01T06:00:00Z)")
    return parsed


def check_epoch(seconds: float, flag: str, text: str, counted_from: float) -> int:
    """`seconds` (the duration `text` of `flag` counted from the time `counted_from`) as an int, or a usage
    error naming both when it lands outside the years 1..9999 the product handles."""
    from processors.timeutil import MAX_EPOCH, MIN_EPOCH, iso_seconds

    if not MIN_EPOCH <= seconds <= MAX_EPOCH:
        raise UsageError(f"{flag}: {text!r} from {iso_seconds(counted_from)} lands outside the years 1..9999")
    return int(seconds)


def duration_seconds(text: str, flag: str) -> int | None:
    """Seconds in a duration argument, None when `text` is not one; one longer than the years 1..9999 is refused."""
    from processors.timeutil import MAX_EPOCH, MIN_EPOCH, parse_duration

    seconds = parse_duration(text)  # more digits than int() reads comes back as DURATION_TOO_LONG
    if seconds is not None and seconds > MAX_EPOCH - MIN_EPOCH:
        raise UsageError(f"{flag}: {text[:40]!r} is longer than the years 1..9999")
    return seconds


def parse_since_argument(text: str, flag: str, reference: int | None, latest: Horizon | None = None) -> int | None:
    """--since as an ISO 8601 time (at most `latest`, when given), or a duration counted back from `reference`
    (None when there is none)."""
    seconds = duration_seconds(text, flag)
    if seconds is not None:
        return None if reference is None else check_epoch(reference - seconds, flag, text, reference)
    from processors.timeutil import parse_iso8601

    parsed = parse_iso8601(text)
    if parsed is None:
        raise UsageError(f"{flag}: not an ISO 8601 time or a duration: {text!r} (e.g. 2026-10-01T06:00:00Z, 1h)")
    if latest is not None:
        latest.check(parsed.timestamp(), flag, text)
    return int(parsed.timestamp())


LOGS_RETENTION_DAYS = 3653  # CloudWatch Logs' longest retention setting: it holds no older event
MAX_LOGS_WINDOWS = 100_000  # FilterLogEvents windows per log group one import or backfill may read


def check_logs_range(since: int, until: int, window: int, now: int) -> None:
    """Refuse a CloudWatch Logs range (seconds) that reaches past the longest retention before `now`, or
    that needs more than MAX_LOGS_WINDOWS windows of `window` (> 0) seconds: either would be days of calls."""
    from processors.timeutil import iso_seconds

    if since < now - LOGS_RETENTION_DAYS * conventions.DAY:
        raise UsageError(f"--since: {iso_seconds(since)} is more than {LOGS_RETENTION_DAYS} days ago, "
                         "older than CloudWatch Logs keeps events")
    windows = -(-(until - since) // window)  # ceiling division: the last window may be short
    if windows > MAX_LOGS_WINDOWS:
        raise UsageError(f"--window: {iso_seconds(since)} to {iso_seconds(until)} is {windows} windows of "
                         f"{window}s, more than {MAX_LOGS_WINDOWS}; use a larger --window")


def parse_duration_argument(text: str, flag: str) -> int:
    seconds = duration_seconds(text, flag)
    if seconds is None:
        raise UsageError(f"{flag}: not a duration: {text!r} (e.g. 5m, 1h, 30d)")
    return seconds
