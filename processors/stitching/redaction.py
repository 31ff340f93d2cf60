"""What of a log's metadata may be stored: an allow-list, with secrets redacted at any depth.

A secret is caught by its key (`password`, `private_key`, `session`…), beside a name that says so (a name/value
pair, the next item of a list), or by its shape inside any string value or key: bearer/basic credentials,
`password=`/`token=`/`secret=` pairs and headers, options (`--password x`), XML elements, a URL path's segment
after one that names it (`/reset-password/<token>`), `sig=`/`key=`/`code=` query parameters, cookies, vendors'
token formats (AWS access key IDs, JWTs, GitHub, Slack, npm, GitLab, Stripe, Google), Slack webhook URLs,
private key blocks, and URL userinfo. Paths keep no query string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson

from processors import conventions
from processors.conventions import counts_tokens, is_secret_key
from processors.stitching.model import COMPACT_JSON, STRICT_JSON

# The keys the engine itself reads from stored events (trace view, failure, access logs); the spec adds its
# domain's: its journey's fields and outcomes, and `traces.metadata` (Stitcher.trace_keys).
ALLOWED_METADATA = frozenset(
    {"action", "duration", "status", "error", "reason", "method", "path", "route", "bytes", "attempt"}
)
PATH_KEYS = frozenset({"path", "route", "url", "uri"})  # their values lose the query string
MAX_DEPTH = 6
MAX_STRING = 512
MAX_KEYS = 32  # per dict, at any depth
MAX_EVENT_BYTES = 4096  # one event's stored metadata (JSON); beyond it only short scalars are kept
SHORT_STRING = 64
# an event's service, action and level: text from the log kept outside metadata, cut as a trace's workflowId and
# repository are (stitch.MAX_ID_CHARS), so one field cannot fill a head's 64 KB alone
MAX_FIELD_CHARS = 256
_R = conventions.REDACTED


def _word_pattern(word: str) -> str:
    return word.replace("-", r"[_\-]?")


# Where a word of a name starts or ends, as conventions' _KEY_WORDS splits a key: beside a character that is not
# a letter or digit, or at a camelCase hump (userOtp, XAuth, OTPCode).
_HUMP = r"(?-i:(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))"
_WORD_END = rf"(?:(?![a-z0-9])|{_HUMP})"


def _starting_a_word(words: Iterable[str]) -> str:
    """`words` where one starts a word of a name: the word first, then a look behind it at the word's start (a
    fixed width per length), so most places fail at a letter instead of at the lookarounds."""
    by_length: dict[int, list[str]] = {}
    for word in sorted(words):
        by_length.setdefault(len(word), []).append(word)
    return "|".join(
        rf"(?:{'|'.join(group)})(?:(?<![a-z0-9].{{{n}}})|(?-i:(?<=[a-z0-9][A-Z].{{{n - 1}}})"
        rf"|(?<=[A-Z][A-Z][a-z].{{{n - 2}}})))"
        for n, group in sorted(by_length.items())
    )


# What names a secret in text (a pair's, an option's, an element's name): the words of conventions' key
# vocabulary, as is_secret_key reads a key (a fragment anywhere, a short word only as the name's last, otp only
# starting or ending a word: not bypass, footprint), and pwd anywhere. A list of its own missed otp=482913 in
# prose, db_pass=, sentryDSN= and jwt=, which keys caught.
_SECRET_WORD_ALTERNATIVES = [
    *(_word_pattern(fragment) for fragment in conventions.SECRET_KEY_FRAGMENTS),
    "pwd",
    rf"(?:{_starting_a_word(conventions.SECRET_LAST_WORDS)})(?![a-z0-9_\-.])",
    _starting_a_word(conventions.SECRET_WORD_PREFIXES),
    rf"(?:{'|'.join(conventions.SECRET_WORD_SUFFIXES)}){_WORD_END}",
]
# behind a lookahead of their first letters: a place that starts none fails once, not once per word
_FIRST_LETTERS = "".join(sorted({word[0] for word in (
    *conventions.SECRET_KEY_FRAGMENTS, "pwd", *conventions.SECRET_LAST_WORDS, *conventions.SECRET_WORD_PREFIXES,
    *conventions.SECRET_WORD_SUFFIXES)}))
_SECRET_WORDS = rf"(?=[{_FIRST_LETTERS}])(?:{'|'.join(_SECRET_WORD_ALTERNATIVES)})"
# words that say what happened to a secret, not what it is (session: expired, token: invalid)
_STATUS_WORDS = (
    r"(?:expired|invalid|missing|required|revoked|rotated|refreshed|valid|absent|empty|unset|none|null|undefined"
    r"|true|false|not)"
)
# an option that takes no secret after it: negated (--no-password-check) or naming where the secret is read from
# (--password-stdin, --token-file)
_NO_SECRET_OPTION = (
    r"(?!-{0,2}(?:no[_\-][a-z0-9_\-]*|[a-z0-9_\-]*[_\-](?:check|stdin|prompt|file|path|env))(?![a-z0-9_\-]))"
)
# A URL path's segment that names the segment after it as a secret: its last word names a secret (/api-keys/,
# /resetPassword/, /tokens/), or any of its words is a one-time link's action (/verify-email/, /invite/,
# /magic-link/, /reset-password-confirm/): an action comes first and its object after it. A `-` in a word is an
# optional `_` or `-` (magic_link, magiclink).
_PATH_NOUNS = ("password", "passwd", "passphrase", "pwd", "token", "secret", "credential", "session", "key")
_PATH_ONE_TIME_WORDS = (
    "otp", "invite", "invitation", "reset", "verify", "verification", "confirm", "confirmation", "activate",
    "activation", "unsubscribe", "magic-link",
)

# after a noun: a secret's name in upper case (NPM_TOKEN, AWS_SECRET_ACCESS_KEY) or an integer ID (a deploy key's
# 123): what names or numbers a secret is not the secret
_PATH_NAME_OR_ID = r"(?:\d{1,19}|[A-Z]{1,12}(?:_[A-Z0-9]{1,12})*)"
_PATH_SEGMENT_END = r"(?:[/?#;,\s\"'<>)\]&]|$)"


_PATH_SECRET_NOUNS = rf"(?:{'|'.join(map(_word_pattern, _PATH_NOUNS))})s?"
_PATH_ONE_TIME = rf"(?:{'|'.join(map(_word_pattern, _PATH_ONE_TIME_WORDS))})s?"

# a name that ends by saying what describes a secret, its type, name or ID (TokenType, SecretName, AccessKeyId),
# not the secret; but a session's ID is its credential
_NOT_A_DESCRIPTOR = r"(?:(?<!type)(?<!name)(?<!id)|(?<=sessionid)|(?<=session[_\-.]id))"
# a pair's name, its separator (=, :, or = URL-encoded once or twice), and a value that is a status word alone
_PAIR_NAME = rf"(?>[a-z0-9_\-]*{_SECRET_WORDS}[a-z0-9_\-]*)"
_PAIR_SEPARATOR = r"(?:[=:]|%(?:25)*3[ad])"
_REDACTED = re.escape(_R)
_NOT_A_STATUS = rf"(?!{_STATUS_WORDS}[.)]*(?:[\s&;,\"'}}\\]|$))"
# a config element's name attribute that names a secret, not a descriptor (TokenType), up to its closing quote; a
# value to its closing quote, over any backslash not before a quote (escaped JSON); the same HTML-escaped
_CONFIG_NAME = rf"(?=[^\"'<>\\]*?{_SECRET_WORDS})[^\"'<>\\]*{_NOT_A_DESCRIPTOR}"
_CONFIG_VALUE = r"(?:(?<=\")(?:[^\"<>\\]|(?>\\+)(?![\"']))+|(?<=')(?:[^'<>\\]|(?>\\+)(?![\"']))+)"
_ESCAPED_QUOTE = r"&(?:quot|apos|#34|#39|#x22|#x27);"
_ESCAPED_CONFIG_NAME = rf"(?=[^&\"'<>\\]*?{_SECRET_WORDS})[^&\"'<>\\]*{_NOT_A_DESCRIPTOR}"
_MYSQL_COMMANDS = "mysql|mariadb"  # and mysqldump, mysqladmin, mariadb-dump…

# (pattern, replacement): each keeps the label so a reader sees what was there, never the secret itself. A name
# is matched from the start of its word, as one atomic group (?>...): split every way it can be, a run of
# names with no value (--no-password--no-password…) cost cubic time, a third of a second per 1,024 characters.
_SECRET_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # a PEM private key, to its END line or, when a cut removed that, to the end of the text
    (
        re.compile(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----)"
                   r"(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|[\s\S]*)"),
        rf"\1{_R}",
    ),
    # Authorization: Bearer abc / Basic dXNlcjpwYXNz / Token abc
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*"), rf"\1\2{_R}"),
    # a command line's option and its value: --password hunter2, -p is too short to tell; a pair's value too
    # (token=--password hunter2)
    (
        re.compile(
            rf"(?i)(?<![^\s=:]){_NO_SECRET_OPTION}((?>--?[a-z0-9_\-]*{_SECRET_WORDS}[a-z0-9_\-]*))(\s+)(?!-)[^\s\"']+"
        ),
        rf"\1\2{_R}",
    ),
    # MySQL's and MariaDB's clients take a password attached to -p (mysql -uroot -phunter2), which elsewhere is a
    # port (docker -p8080:80, ssh -p2222): only in such a command, up to its end (; | & or a line's end). The
    # arguments before it (split at spaces; a quoted one, or an option's quoted value, taken whole to its closing
    # quote, escaped in JSON or not, so a ; or a space in it ends nothing) are taken atomically, up to one that
    # names such a command again, so a run of commands is scanned once. A quoted argument is followed by a space or
    # the command's end: a quote glued to a word ends a JSON string, and the next string is not this command.
    (
        re.compile(
            rf"(?<![\w.\-])((?:{_MYSQL_COMMANDS})[a-z\-]*"
            r"(?>(?:[ \t]+(?!-p\S)(?![^\s;|&\"]*(?:mysql|mariadb))"
            r"(?:(?:-[A-Za-z0-9_\-]*=?)?(?:\\*\"[^\"\r\n]*?\\*\"|'[^'\r\n]*')(?=[\s;|&]|$)|[^\s;|&\"]+))*)[ \t]+-p)"
            r"(?:'[^'\r\n]*'|\"[^\"\r\n]*\"|[^\s\"']+)"
        ),
        rf"\1{_R}",
    ),
    # the same as a list's items in JSON or a Python repr: ["--password", "hunter2"], ["token", "abc"]
    (
        re.compile(
            rf"(?i)((?<!\\)\\*[\"']{_NO_SECRET_OPTION}(?>-{{0,2}}[a-z0-9_\-]*{_SECRET_WORDS}[a-z0-9_\-]*)\\*[\"']\s*,\s*"
            r"\\*[\"'])(?!-)[^\"'\\\r\n]+(?=\\*[\"']\s*[,\]])"
        ),
        rf"\1{_R}",
    ),
    # an XML element named so, raw or escaped: <password>hunter2</password>, &lt;apiKey&gt;…&lt;/apiKey&gt;; not
    # <TokenType>, <SecretName> nor <AccessKeyId>
    (
        re.compile(
            rf"(?i)((?:<|&lt;)(?>[a-z0-9_\-:.]*{_SECRET_WORDS}[a-z0-9_\-.]*){_NOT_A_DESCRIPTOR}(?:\s[^<>]*)?(?:>|&gt;))"
            r"(?:[^<&]|&(?!lt;))+(?=(?:<|&lt;)/)"
        ),
        rf"\1{_R}",
    ),
    # a config element whose first attribute, key or name, names a secret and whose next is its value: .NET's
    # <add key="ApiKey" value="…"/>, Spring's <property name="password" value="…"/>, in escaped JSON too; or
    # whose value comes first (<add value="…" key="ApiKey"/>): the value, taken whole, is then followed by the name
    (
        re.compile(
            rf"(?i)(<[a-z0-9_\-:.]+\s+(?:key|name)\s*=\s*(\\*[\"']){_CONFIG_NAME}\2\s*value\s*=\s*\\*[\"'])"
            rf"{_CONFIG_VALUE}"
        ),
        rf"\1{_R}",
    ),
    (
        re.compile(
            rf"(?i)(<[a-z0-9_\-:.]+\s+value\s*=\s*(\\*[\"']))(?>{_CONFIG_VALUE})"
            rf"(?=\2\s*(?:key|name)\s*=\s*(\\*[\"']){_CONFIG_NAME}\3)"
        ),
        rf"\1{_R}",
    ),
    # the same HTML-escaped (&lt;add key=&quot;ApiKey&quot; value=&quot;…&quot;/&gt;), either way round: a value
    # runs to the escaped quote that opened it, or to the line's end
    (
        re.compile(
            rf"(?i)(&lt;[a-z0-9_\-:.]+\s+(?:key|name)\s*=\s*({_ESCAPED_QUOTE}){_ESCAPED_CONFIG_NAME}\2"
            rf"\s*value\s*=\s*({_ESCAPED_QUOTE}))(?:(?!\3)[^\r\n])+"
        ),
        rf"\1{_R}",
    ),
    (
        re.compile(
            rf"(?i)(&lt;[a-z0-9_\-:.]+\s+value\s*=\s*({_ESCAPED_QUOTE}))(?>(?:(?!\2)[^\r\n])+)"
            rf"(?=\2\s*(?:key|name)\s*=\s*({_ESCAPED_QUOTE}){_ESCAPED_CONFIG_NAME}\3)"
        ),
        rf"\1{_R}",
    ),
    # password=..., token: "...", client_secret=..., api_key=..., in query strings, headers or prose, in JSON
    # (escaped too: JSON logged inside a string), Python reprs ('password': '...') and URL-encoded (%3D, or %253D
    # twice); a quoted value whole, to its closing quote; a header's scheme word (Authorization: token abc) goes
    # with its credential; a status word stays as the whole value (session: expired), not starting one (True.Horse);
    # an unquoted value that is a secret's name with a separator after it (token=session: abc) goes without the
    # separator, so the chained value after it is found (below). After the shapes an unquoted value can start
    # (an option, a mysql command, an XML or config element: token=<password>correct horse</password>): taken
    # first, the value's start hid the shape from its rule, and what followed a space was kept.
    (
        re.compile(
            rf"(?i)(?<![a-z0-9_\-])({_PAIR_NAME})((?:\\*[\"'])?\s*{_PAIR_SEPARATOR}\s*)(\\*[\"'])?{_NOT_A_STATUS}"
            r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|sso-key)\s+)?"
            rf"(?:(?<=[\"'])[^\"'\\\r\n]+|{_PAIR_NAME}(?=[ \t]+{_PAIR_SEPARATOR}|{_PAIR_SEPARATOR}[ \t])"
            r"|[^\s&;,\"'}\\]+)"
        ),
        rf"\1\2\3{_R}",
    ),
    # a URL path's segment after one that names it (/reset-password/<token>, /api/keys/<key>, /invite/<code>,
    # /verify-email/<token>), unless it is a route's placeholder ({token}, :code, <key>, *, [id]) or a lower-case
    # word (new, accept); after a noun, neither an upper-case name (/secrets/NPM_TOKEN) nor an integer ID
    # (/keys/123), while a one-time link's code may be either (/verify/482913). A word starts after a separator
    # or at a camelCase hump. The one-time words are found by a lookahead (atomic: its first match is its only
    # one) and the segment is then taken whole, atomically.
    (
        re.compile(
            r"(/(?:[A-Za-z0-9_\-.]*?(?:(?<=[/_\-.])|(?<=[a-z0-9])(?=[A-Z]))"
            rf"(?i:{_PATH_SECRET_NOUNS})/(?!{_PATH_NAME_OR_ID}{_PATH_SEGMENT_END})"
            r"|(?=[A-Za-z0-9_\-.]*?(?:(?<=[/_\-.])|(?<=[a-z0-9])(?=[A-Z]))"
            rf"(?i:{_PATH_ONE_TIME})(?![a-z0-9]))(?>[A-Za-z0-9_\-.]*)/))"
            rf"(?![{{:<*$\[]|%7[Bb])(?![a-z]{{1,12}}(?:[_\-][a-z]{{1,12}})*{_PATH_SEGMENT_END})"
            r"[^/?#;,\s\"'<>(){}\[\]&]+"
        ),
        rf"\1{_R}",
    ),
    # a Cookie or Set-Cookie header: every cookie in it, to the end of the line
    (re.compile(r"(?i)\b((?:set-)?cookie)(\"?\s*[=:]\s*\"?)[^\r\n\"]+"), rf"\1\2{_R}"),
    # query parameters that carry a credential under a short name (Azure SAS `sig`, Google `key`, OAuth's
    # authorization `code`)
    (re.compile(r"(?i)([?&;](?:sig|key|auth|pass|pw|pat|code)=)[^&#\s\"']+"), rf"\1{_R}"),
    # vendors' token formats: AWS access key IDs (long-term AKIA, temporary ASIA); GitHub (ghp_ personal, gho_
    # OAuth, ghu_/ghs_ app, ghr_ refresh, github_pat_ fine-grained); Slack (xoxb-, xoxp-, ... and xapp- app-level);
    # npm; GitLab; Stripe secret and restricted keys; Google API keys
    (
        re.compile(
            r"\b(?:(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abposrecd]-[A-Za-z0-9\-]{10,}|xapp-\d+-[A-Za-z0-9\-]{10,}|npm_[A-Za-z0-9]{36}"
            r"|glpat-[A-Za-z0-9_\-]{20,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|AIza[A-Za-z0-9_\-]{35})"
        ),
        _R,
    ),
    # JSON Web Tokens: three base64url parts, the first two JSON objects ("eyJ"); a token cut before its signature
    # (a long one at the cut a value is scanned to) still has its claims
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?"), _R),
    # a Slack incoming webhook's secret path
    (re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_\-]+"), rf"\1{_R}"),
    # a value chained to a pair's redacted one (token=session = abc, password = token: abc, api_key = default =
    # abc): the words between (each followed by a separator, taken atomically) and the last value go. Last, over
    # what the other shapes left, so a shape inside the chained value (--password x, <password>x</password>) was
    # found first and nothing is taken from it.
    (
        re.compile(
            rf"(?i)({_PAIR_SEPARATOR}[ \t]*{_REDACTED})"
            rf"(?:[ \t]*{_PAIR_SEPARATOR}[ \t]*{_NOT_A_STATUS}(?>[^\s&;,\"'}}\\=:]+)(?=[ \t]*{_PAIR_SEPARATOR}))*"
            rf"([ \t]*{_PAIR_SEPARATOR}[ \t]*(\\*[\"'])?){_NOT_A_STATUS}(?:(?<=[\"'])[^\"'\\\r\n]+|[^\s&;,\"'}}\\]+)"
        ),
        rf"\1\2{_R}",
    ),
    # https://user:password@host (a password may hold an @), or https://TOKEN@host (a Sentry DSN, a git token:
    # userinfo of 16 characters or more; ssh://git@host keeps its user)
    (
        re.compile(
            r"(?i)(?<![a-z0-9+.\-])(?=(?:[a-z0-9+.\-]*[+.\-])?[a-z])((?>[a-z0-9+.\-]+)://)"
            r"(?:[^/\s:@]+:[^/\s?#]*|[^/\s:@?#]{16,})@"
        ),
        rf"\1{_R}@",
    ),
)

# Every shape above needs one of these substrings (case-folded): a string without any is returned after one
# scan instead of one per shape (most metadata values: IDs, repositories, ARNs). Grouped by first character
# behind a lookahead of those characters, over casefold() instead of (?i): a third of the time of a flat
# case-insensitive alternation, on long text too.
_MAYBE_SECRET = re.compile(
    r"(?=[abceghinprstx:?&;])(?:a(?:pi[_\-]?key|ccess[_\-]?key|uth|kia|sia|bia|cca|iza)|b(?:earer|asic)"
    r"|c(?:redential|ookie|onnection)|e(?:yj|ncryption)|g(?:h[pousr]_|ithub_pat_|lpat-)|hooks\.slack"
    r"|integration|npm_|p(?:ass|w|rivate|at|sk)|r(?:outing|k_live_|k_test_)"
    r"|s(?:e(?:cret|ssion)|ign(?:ature|ing)|ig|as|k_live_|k_test_)|token|x(?:ox|app-)"
    r"|://|[?&;](?:sig|key|auth|pw|pat|code)=)"
)
# the vocabulary's words that start with a common letter (d, o, w) or a rare one (j): a substring search each, which
# costs clean prose less than those letters in the lookahead above
_MAYBE_SECRET_WORDS = ("otp", "dsn", "jwt", "webhook")
# The path rule's own words stand in a segment before a `/`: they are looked for in the reversed text, from each
# `/` (a literal the engine skips to) back over its segment, so text without one pays nothing for them; common
# first letters (`o`, `u`) in the lookahead above would cost clean prose a quarter more.
_MAYBE_SECRET_PATH = re.compile(
    r"/[a-z0-9_\-.]*?(?:" + "|".join(_word_pattern(word[::-1]) for word in ("key", *_PATH_ONE_TIME_WORDS)) + ")"
)

# MySQL's attached password: a command's name, looked for only in text with a `-p` (one substring search)
_MAYBE_MYSQL = re.compile(_MYSQL_COMMANDS)


def redact_text(text: str) -> str:
    """`text` with every secret-shaped substring replaced by [REDACTED]."""
    if len(text) <= _CACHED_TEXT:
        return _redact_short(text)
    return _redact_text(text)


def _redact_text(text: str) -> str:
    folded = text.casefold()
    if (
        _MAYBE_SECRET.search(folded) is None
        and not any(word in folded for word in _MAYBE_SECRET_WORDS)
        and ("/" not in folded or not _MAYBE_SECRET_PATH.search(folded[::-1]))
        and ("-p" not in text or _MAYBE_MYSQL.search(text) is None)
    ):
        return text
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


# Metadata repeats its short values (methods, routes, repositories, actions): each is scanned once. The cache
# (and _redact_path's) holds at most 8,192 strings of at most 128 characters (a few MB at worst).
_CACHED_TEXT = 128
_redact_short = lru_cache(maxsize=8192)(_redact_text)


def storable_id(text: str, limit: int) -> str:
    """A workflow ID or repository as a trace head keeps it (and indexes it): redacted, then cut to `limit`
    characters, so a secret on the cut is never half kept."""
    return redact_text(text[: limit * 2])[:limit]


def storable_fields(service: str, action: str, level: str) -> tuple[str, str, str]:
    """An event's service, action and level as its trace keeps them: text from the log, redacted as metadata
    is, then each cut to MAX_FIELD_CHARS (storable_id). Their few distinct triples are redacted once each."""
    if len(service) + len(action) + len(level) <= _CACHED_TEXT:
        return _storable_short_fields(service, action, level)
    return (storable_id(service, MAX_FIELD_CHARS), storable_id(action, MAX_FIELD_CHARS),
            storable_id(level, MAX_FIELD_CHARS))


@lru_cache(maxsize=4096)
def _storable_short_fields(service: str, action: str, level: str) -> tuple[str, str, str]:
    return _redact_short(service), _redact_short(action), _redact_short(level)


def strip_query(path: str) -> str:
    """/runs/1?token=abc#x -> /runs/1: query strings carry tokens and personal data."""
    return path.split("?", 1)[0].split("#", 1)[0]


@lru_cache(maxsize=8192)
def _redact_path(path: str) -> str:
    """A short path or route stripped of its query and redacted, once per distinct value (as _redact_short)."""
    return _redact_text(strip_query(path))


def redact(value: Any, depth: int = 0, key: str = "") -> Any:
    """A copy with secrets replaced (by key and by shape), long strings cut, depth bounded."""
    if depth > MAX_DEPTH:
        return "[TRUNCATED]"
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        named_secret = _names_a_secret(value)
        for name, item in list(value.items())[:MAX_KEYS]:
            text = str(name)
            # a key can be the secret itself (a token as a dict key)
            secret = is_secret_key(text) or (named_secret and text.lower() in _VALUE_KEYS)
            if secret and type(item) is int and counts_tokens(text):  # usage.prompt_tokens: 12
                secret = False
            kept[redact_text(text)] = _R if secret else redact(item, depth + 1, text)
        if len(value) > MAX_KEYS:
            kept["_truncated"] = True
        return kept
    if isinstance(value, list):
        return _redact_items(value[:50], depth + 1, key)
    if isinstance(value, float) and value - value != 0:
        return _non_finite_text(value)
    if isinstance(value, str):
        if key in PATH_KEYS:
            value = strip_query(value)
        cut = len(value) > MAX_STRING * 2
        value = redact_text(value[: MAX_STRING * 2])  # cut first: the scan is over a bounded string
        return value[:MAX_STRING] + "…" if cut or len(value) > MAX_STRING else value
    return value


_SCALARS = (int, float, bool, type(None))
# A header or variable logged as a name/value pair ({"name": "X-Api-Key", "value": "…"}, as API Gateway, ALB,
# HAR and ECS log them): the name says the value is secret.
_NAME_KEYS = ("name", "Name", "key", "Key")
_VALUE_KEYS = frozenset({"value"})


# A list's item that names the secret in the item after it: an option or a name of one or two words
# (["--password", "x"], ["Authorization", "x"], ["api key", "x"]), not prose, not an option that takes none, and
# not a short word alone, which is a subcommand (gh auth login, pass show) more often than a name.
_SECRET_ITEM = re.compile(rf"(?i){_NO_SECRET_OPTION}-{{0,2}}[a-z0-9_.\-]+(?: [a-z0-9_.\-]+)?")


def _names_a_secret_item(item: Any) -> bool:
    return (
        type(item) is str
        and len(item) <= 64
        and is_secret_key(item)
        and item.lower() not in conventions.SECRET_LAST_WORDS
        and _SECRET_ITEM.fullmatch(item) is not None
    )


def _redact_items(items: list[Any], depth: int, key: str) -> list[Any]:
    """Each item redacted, and the item after one that names a secret replaced whole (a logged argv, a header
    as [name, value]), unless it is an option itself (["--password-stdin", "--username", …])."""
    kept: list[Any] = []
    after_name = False
    for item in items:
        if after_name and not (type(item) is str and item.startswith("-")):
            kept.append(_R)
        else:
            kept.append(redact(item, depth, key))
        after_name = _names_a_secret_item(item)
    return kept


def _names_a_secret(pair: dict[Any, Any]) -> bool:
    return any(type(name := pair.get(field)) is str and is_secret_key(name) for field in _NAME_KEYS)


def _non_finite_text(value: float) -> str:
    """±inf or NaN (a log's 1e400, or json's Infinity/NaN) as the text json would write: stored JSON stays JSON,
    and the value stays visible."""
    return STRICT_JSON.encode(value)


def storable_metadata(metadata: dict[str, Any], also: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Only allow-listed keys (none of which looks secret), their values redacted at any depth. `also`: keys
    the spec's journey reads from stored events (e.g. a resolution's outcome field); secret-looking ones never.

    Beyond MAX_EVENT_BYTES of JSON, nested values are dropped and strings cut short, marked `_truncated`.
    """
    return storable_metadata_encoded(metadata, also)[0]


def storable_metadata_encoded(
    metadata: dict[str, Any], also: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], str, bool]:
    """storable_metadata, its compact JSON (a value JSON cannot encode written as its str(), as the size check
    counts it), and whether every value was encoded as it is (the JSON is then the one the head's document
    holds: TraceEvent.encode_with)."""
    return storable_metadata_kept(metadata, kept_keys(also))


def storable_metadata_kept(metadata: dict[str, Any], kept: frozenset[str]) -> tuple[dict[str, Any], str, bool]:
    """storable_metadata_encoded with its kept keys (kept_keys) already known: the stitcher's, once per spec."""
    stored: dict[str, Any] = {}
    flat = True  # every value a string or a scalar that orjson writes as json does (_encode_flat)
    for key, value in metadata.items():
        if key not in kept:
            continue
        kind = type(value)
        if kind is str and len(value) <= _CACHED_TEXT:  # redact(value, key=key), once per distinct value
            stored[key] = _redact_path(value) if key in PATH_KEYS else _redact_short(value)
        elif kind is int or kind is bool or value is None:
            stored[key] = value
        elif kind is float:
            if value - value == 0:  # finite
                stored[key] = value
                flat = flat and (value == 0 or _PLAIN_FLOATS[0] <= abs(value) < _PLAIN_FLOATS[1])
            else:
                stored[key] = _non_finite_text(value)
        elif isinstance(value, _SCALARS):
            stored[key] = _non_finite_text(value) if isinstance(value, float) and value - value != 0 else value
            flat = False
        else:
            stored[key] = value = redact(value, key=key)
            flat = flat and type(value) is str
    text, exact = _encode_flat(stored) if flat else _encode(stored)
    if len(text) <= MAX_EVENT_BYTES:
        return stored, text, exact
    small: dict[str, Any] = {"_truncated": True}
    for key, value in stored.items():
        if isinstance(value, str):
            small[key] = value if len(value) <= SHORT_STRING else value[:SHORT_STRING] + "…"
        elif isinstance(value, _SCALARS):
            small[key] = value
    text, exact = _encode(small)
    return small, text, exact


@lru_cache(maxsize=64)
def kept_keys(also: frozenset[str]) -> frozenset[str]:
    """ALLOWED_METADATA and the keys of `also` that do not look secret: what storable_metadata keeps."""
    return ALLOWED_METADATA | {key for key in also if not is_secret_key(key)}


# floats whose repr (json's) has no exponent: orjson writes these alike, and others differently (1e-05: 0.00001)
_PLAIN_FLOATS = (1e-4, 1e16)


def _encode(document: dict[str, Any]) -> tuple[str, bool]:
    """(compact JSON of `document`, whether it needed no str() of a value JSON cannot encode)."""
    try:
        return STRICT_JSON.encode(document), True
    except TypeError:
        return COMPACT_JSON.encode(document), False


def _encode_flat(document: dict[str, Any]) -> tuple[str, bool]:
    """_encode of a dict of strings and scalars, by orjson where its bytes are json's: an int beyond 64 bits
    (orjson refuses it), a non-ASCII character or DEL (json escapes them) take json's path."""
    try:
        encoded = orjson.dumps(document)
    except orjson.JSONEncodeError:
        return _encode(document)
    if encoded.isascii() and 0x7F not in encoded:  # an int: `bytes in bytes` first tries it as one, and raises
        return encoded.decode(), True
    return _encode(document)


assert not any(is_secret_key(key) for key in ALLOWED_METADATA), "an allow-listed key looks secret"
