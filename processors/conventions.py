"""The engine's true constants in one place: windows, key formats, skip kinds, pipeline metric names.

The domain (the event vocabulary, the journey, SLO and operator metric names) lives in the spec (slos.yaml).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final
from urllib.parse import quote

# --- Time: buckets and windows (seconds) ------------------------------------------------------------------

MINUTE: Final = 60
HOUR: Final = 3600
DAY: Final = 86400
SLICE_SECONDS_DEFAULT: Final = 300  # time-slice SLOs: 5-minute slices aligned to the epoch

RESOLUTION_MINUTE: Final = "m"
RESOLUTION_HOUR: Final = "h"
RESOLUTIONS: Final = {RESOLUTION_MINUTE: MINUTE, RESOLUTION_HOUR: HOUR}

DEFAULT_SLO_WINDOW: Final = "30d"
BURN_RATE_WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

DEFAULT_MAX_RUNTIME: Final = "6h"  # orphan sweep: opened + max_runtime without a resolution
DEFAULT_TRACE_TTL_DAYS: Final = 14
DEFAULT_COUNTER_TTL_DAYS: Final = 40  # minute buckets outlive the longest window they serve
MAX_SPANS_PER_TRACE: Final = 1000
# Kinesis sequence numbers have 56 digits; the store's keys pad them to this many, so a longer one is no sequence
MAX_SEQUENCE_DIGITS: Final = 60

# Store keys, TTLs and item encodings live in processors/store/keys.py (one codec module). A series id is
# named here because the spec names its own series (Slo.series) and the store reads them back.


def series_id(sli: str, revision: str = "", group: str = "") -> str:
    """The name of one counter/digest series: `sli`, `sli@revision`, or `sli@revision/group` (group quoted).

    A group without a revision still gets the `@` (an empty revision), so ids never collide.
    """
    if not revision and not group:
        return sli
    if not group:
        return f"{sli}@{revision}"
    return f"{sli}@{revision}/{quote(group, safe='')}"


def series_revision(series: str) -> tuple[str, str] | None:
    """(sli, revision) of a revisioned series id (any group left out); None for a plain name (built-ins)."""
    sli, at, rest = series.rpartition("@")
    if not at or not sli:
        return None
    revision = rest.split("/", 1)[0]
    return (sli, revision) if revision else None


# --- Skip kinds: bad input is counted by kind, never raised -----------------------------------------------

SKIP_NOT_BASE64: Final = "not_base64"
SKIP_NOT_GZIP: Final = "not_gzip"
SKIP_TRUNCATED_GZIP: Final = "truncated_gzip"
SKIP_PAYLOAD_NOT_JSON: Final = "payload_not_json"
SKIP_PAYLOAD_SHAPE: Final = "payload_wrong_shape"
SKIP_KPL_BAD_DIGEST: Final = "kpl_bad_digest"
SKIP_CONTROL_MESSAGE: Final = "control_message"
SKIP_MESSAGE_NOT_JSON: Final = "message_not_json"
SKIP_NO_ACTION: Final = "no_action"
SKIP_IN_BATCH_DUPLICATE: Final = "duplicate_in_batch"  # the same sequence number twice in one batch
SKIP_NO_SEQUENCE: Final = "no_sequence"
SKIP_PAYLOAD_TOO_LARGE: Final = "payload_too_large"  # inflates past the cap, or more log events than CloudWatch sends
SKIP_MESSAGE_TOO_LARGE: Final = "message_too_large"
SKIP_BAD_TIMESTAMP: Final = "bad_timestamp"  # not finite, or outside [now - retention, now + 1 day]
SKIP_LINE_NOT_JSON: Final = "line_not_json"  # a replayed JSON-lines file's cut-off or corrupt line
SKIP_PROCESSING_ERROR: Final = "processing_error"  # an unexpected exception on one event: isolated, logged

# Decoding bounds: one record can never exhaust the function's memory (docs/log-schema.md).
MAX_PAYLOAD_BYTES_DEFAULT: Final = 8 * 1024 * 1024  # a payload's inflated size
MAX_LOG_EVENTS_PER_PAYLOAD: Final = 10_000  # CloudWatch Logs' own limit per PutLogEvents batch
MAX_MESSAGE_BYTES_DEFAULT: Final = 256 * 1024  # CloudWatch Logs' historical event size limit
# What gzip input may inflate to and hold per byte of it, past one payload's caps: a replayed gzip file
# (processors/replay/sources.py says why these), and a KPL aggregate's user records together, each a payload.
MAX_INFLATE_RATIO: Final = 200
MAX_ENTRIES_PER_BYTE: Final = 1
FUTURE_TOLERANCE_SECONDS: Final = DAY  # event times more than a day ahead of "now" are bad timestamps
# How far a time may run ahead of this machine's clock and still be taken as now: a scheduled event's `time`
# (handlers/schedule.py), and a time the CLI's reading commands are asked about (cli/common.py, past_time).
CLOCK_SKEW_SECONDS: Final = 60
SKIP_SCHEMA_INVALID: Final = "schema_invalid"  # log_format.validation: strict

# Notes: lines accepted with a remark, counted by kind (warn-mode schema findings are `schema_<keyword>`).
# A line without a usable correlation ID still counts for event-ratio and time-slice SLIs; traces skip it.
NOTE_NO_CORRELATION_ID: Final = "no_correlation_id"
NOTE_BAD_CORRELATION_ID: Final = "bad_correlation_id"
# A grouped SLO's event whose group value arrived after the SLO's `group_limit` values: counted under GROUP_OTHER.
NOTE_GROUP_FOLDED: Final = "group_folded"
# A grouped SLO's event met while its group registry does not decode (the ingest Lambda): counted in the SLO's
# whole series and every other SLI, left out of its group series (docs/store.md, Damaged group registries).
NOTE_GROUP_REGISTRY_DAMAGED: Final = "group_registry_damaged"

# --- Grouped SLOs (group_by) ------------------------------------------------------------------------------

DEFAULT_GROUP_LIMIT: Final = 100  # group values tracked per SLO; later values fold into GROUP_OTHER
MAX_GROUP_LIMIT: Final = 1000
MAX_GROUP_FIELDS: Final = 10  # group_by fields per SLO: read for every event; their joined values are cut at 200
GROUP_OTHER: Final = "__other__"
GROUP_NONE: Final = "__none__"  # an event without the group_by field
MAX_GROUP_CHARS: Final = 200  # a longer value is cut: it names a series and an alert

# Kinds that mean a malformed record (vs. ordinary noise such as platform lines).
MALFORMED_KINDS: Final = frozenset(
    {
        SKIP_NOT_BASE64,
        SKIP_NOT_GZIP,
        SKIP_TRUNCATED_GZIP,
        SKIP_PAYLOAD_NOT_JSON,
        SKIP_PAYLOAD_SHAPE,
        SKIP_KPL_BAD_DIGEST,
        SKIP_NO_SEQUENCE,
        SKIP_PAYLOAD_TOO_LARGE,
        SKIP_MESSAGE_TOO_LARGE,
        SKIP_LINE_NOT_JSON,
    }
)

# --- Redaction --------------------------------------------------------------------------------------------

# compared with the key lower-cased and all but its letters and digits removed, so `private_key`, `X-Api-Key` and
# `api.key` are caught; a `-` marks where words meet, which a name in text (redaction) may join with `_` or `-`
SECRET_KEY_FRAGMENTS: Final = (
    "token", "secret", "password", "passwd", "passphrase", "authorization", "cookie", "api-key", "credential",
    "private-key", "session", "access-key", "signature", "bearer", "jwt", "routing-key", "integration-key",
    "signing-key", "encryption-key", "connection-string", "webhook-url",
)
_FOLDED_FRAGMENTS: Final = tuple(fragment.replace("-", "") for fragment in SECRET_KEY_FRAGMENTS)
REDACTED: Final = "[REDACTED]"


# Short words that name a secret only as the last word of a key (X-Auth, db_pass, azure_sig, sentryDSN): as
# fragments they would catch innocent keys (passed, design, bypass).
SECRET_LAST_WORDS: Final = frozenset({"auth", "pass", "pwd", "pw", "pat", "sig", "sas", "dsn", "psk"})
# A one-time password names a secret as a word of a key, or the start or end of one (otp_code, OTPCode, otpcode,
# totp, userotp, smsotps): as a fragment it caught footprint, rootPath and snapshot_policy, and no English word
# ends in it.
SECRET_WORD_PREFIXES: Final = ("otp",)
SECRET_WORD_SUFFIXES: Final = ("otp", "otps")
_KEY_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z0-9]+(?![a-z])")  # camelCase, snake_case, kebab-case, dotted words


def is_secret_key(key: str) -> bool:
    """A key that names a secret, whatever its casing and separators (apiKey, API-KEY, api.key, api key)."""
    return _is_secret_short_key(key) if len(key) <= 128 else _is_secret_key(key)


def _is_secret_key(key: str) -> bool:
    folded = "".join(char for char in key.lower() if char.isalnum())
    if any(fragment in folded for fragment in _FOLDED_FRAGMENTS):
        return True
    words = [word.lower() for word in _KEY_WORDS.findall(key)]
    return bool(words) and (
        words[-1] in SECRET_LAST_WORDS
        or any(word.startswith(SECRET_WORD_PREFIXES) or word.endswith(SECRET_WORD_SUFFIXES) for word in words)
    )


_is_secret_short_key = lru_cache(maxsize=4096)(_is_secret_key)  # nested keys repeat as values do

# A key that counts tokens (an LLM's prompt_tokens, max_tokens, token_count) or times one (expires_in), rather than
# holding one: its integer value is kept, unless the key names a secret without its token words (secret_token_count).
_TOKEN_WORDS = frozenset({"token", "tokens"})
_TOKEN_COUNT_WORDS = frozenset(
    {"tokens", "count", "counts", "max", "min", "num", "total", "used", "limit", "remaining", "expires", "expiry",
     "ttl", "lifetime"}
)


def counts_tokens(key: str) -> bool:
    """A key whose integer value is a number of tokens or seconds, not a secret (usage.prompt_tokens: 12)."""
    words = [word.lower() for word in _KEY_WORDS.findall(key[:128])]
    return (
        any(word in _TOKEN_WORDS for word in words)
        and any(word in _TOKEN_COUNT_WORDS for word in words)
        and not is_secret_key(" ".join(word for word in words if word not in _TOKEN_WORDS))
    )

# --- Metrics (CloudWatch EMF) -----------------------------------------------------------------------------

METRICS_NAMESPACE_DEFAULT: Final = "SloPipeline"
METRIC_EVENTS_PROCESSED: Final = "EventsProcessed"
METRIC_RECORDS_PROCESSED: Final = "RecordsProcessed"
METRIC_EVENTS_SKIPPED: Final = "EventsSkipped"
METRIC_EVENTS_SKIPPED_BY_KIND: Final = "EventsSkippedByKind"  # dimension Kind: a conventions.SKIP_* value
METRIC_MALFORMED_RECORDS: Final = "MalformedRecords"
METRIC_ITERATOR_LAG: Final = "IteratorLagMs"
METRIC_TRACE_COVERAGE: Final = "TraceCoverage"
# an item in the store that does not decode: what the evaluator left out of its minute, or a batch ingest could not
# apply (its shard's checkpoint); DamagedItemsAlarm tickets on one
METRIC_DAMAGED_ITEMS: Final = "DamagedItems"


# --- Local defaults ---------------------------------------------------------------------------------------

DEFAULT_DB_PATH: Final = ".slo/slo.db"
ENV_TABLE_NAME: Final = "SLO_TABLE_NAME"
ENV_SPEC_PATH: Final = "SLO_SPEC_PATH"
ENV_ENDPOINT_URL: Final = "SLO_ENDPOINT_URL"
ENV_MAX_PAYLOAD_BYTES: Final = "SLO_MAX_PAYLOAD_BYTES"
ENV_MAX_MESSAGE_BYTES: Final = "SLO_MAX_MESSAGE_BYTES"

# --- Pipeline-internal SLIs -------------------------------------------------------------------------------

# good = vocabulary events with a valid correlation ID, total = all vocabulary events
TRACE_COVERAGE_SLI: Final = "_trace-coverage"
# the level of open units of work (the spec's journey: opened, not yet resolved), kept by commit deltas
OPEN_UNITS_GAUGE: Final = "open-units"
EXEMPLARS_PER_BUCKET_PER_COMMIT: Final = 5
