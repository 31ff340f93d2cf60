"""How `slo replay` reads a file: lines bounded, blank lines for next to nothing, gzip inflated only so far."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors import conventions
from processors.replay import sources
from processors.replay.sources import (
    ENTRY_FLOOR,
    INFLATE_FLOOR_BYTES,
    MAX_DOCUMENT_VALUES,
    MAX_ENTRIES_PER_BYTE,
    MAX_INFLATE_RATIO,
    TOO_LARGE,
    VALUES_PER_ENTRY,
    FileSource,
    _bounded_lines,
    _BoundedGunzip,
    _DocumentCount,
    _EventsChunk,
    _json_documents,
    decodable_batches,
    entries_of,
    entry_bound,
    inflate_bound,
    values_left,
)
from tests.builders import T0, cid, log_line


def reference_lines(text: str, cap: int) -> list[object]:
    """What _bounded_lines must yield, spelled the slow way."""
    lines = text.split("\n")
    wanted: list[object] = []
    for number, line in enumerate(lines):
        ending = "" if number == len(lines) - 1 else "\n"
        if len(line) > cap:
            wanted.append(TOO_LARGE)
        elif line.strip():
            wanted.append(line + ending)
    return wanted


@given(text=st.text(alphabet="ab \t\n", max_size=60), cap=st.integers(1, 12), chunk_size=st.integers(1, 16))
def test_lines_are_the_non_blank_ones_with_each_past_the_cap_too_large_whatever_the_chunking(
    text: str, cap: int, chunk_size: int
) -> None:
    assert list(_bounded_lines(io.StringIO(text), cap, chunk_size)) == reference_lines(text, cap)


class CountingText(io.StringIO):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.calls = 0

    def read(self, size: int | None = -1) -> str:
        self.calls += 1
        return super().read(size)

    def readline(self, size: int = -1) -> str:  # type: ignore[override]  # typeshed's _IOBase says bytes
        self.calls += 1
        return super().readline(size)


def test_a_run_of_blank_lines_costs_one_read_per_chunk_not_one_per_line() -> None:
    text = CountingText("\n" * 1_000_000 + "  \n" * 1000 + '{"a": 1}\n')
    assert list(_bounded_lines(text, 1 << 20, chunk_size=1 << 16)) == ['{"a": 1}\n']
    assert text.calls <= 1_003_000 // (1 << 16) + 2


def test_a_small_file_may_inflate_to_the_floor_and_a_large_one_to_the_ratio_times_its_size() -> None:
    assert inflate_bound(1_000) == INFLATE_FLOOR_BYTES
    assert inflate_bound(10 << 20) == MAX_INFLATE_RATIO * (10 << 20)


def test_a_small_gzip_may_yield_the_entry_floor_and_a_large_one_the_ratio_times_its_size() -> None:
    assert entry_bound(1_000) == ENTRY_FLOOR
    assert entry_bound(10 << 20) == MAX_ENTRIES_PER_BYTE * (10 << 20)


@pytest.mark.parametrize(
    ("case", "document", "entries"),
    [
        ("a log line or a document of no known shape is one", "not json", 1),
        ("a Kinesis event is one plus its records", {"Records": [{}, {}]}, 3),
        ("a CloudWatch payload is one plus its log events", {"messageType": "DATA_MESSAGE", "logEvents": [{}] * 3}, 4),
        ("log-events output is one plus its events", {"events": [1, 2, 3, 4]}, 5),
        ("a list that is not a list costs nothing more", {"Records": "x"}, 1),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_document_costs_one_entry_plus_those_of_its_lists(case: str, document: object, entries: int) -> None:
    assert entries_of(document) == entries


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_every_file_a_replay_opens_is_closed_when_its_batches_end_not_when_it_is_collected(
    tmp_path: Path, gzipped: bool
) -> None:
    """A folder of thousands of .gz files held one descriptor each until the garbage collector ran."""
    content = "".join(log_line("api_request", T0 + n, cid(n), "Api") + "\n" for n in range(3)).encode()
    sources = []
    before = open_fds()
    for n in range(40):
        path = tmp_path / f"{n}.jsonl{'.gz' if gzipped else ''}"
        path.write_bytes(gzip.compress(content) if gzipped else content)
        source = FileSource(path)  # detection opens the file once
        batches = list(decodable_batches(path, source.batches))
        assert sum(batch.bytes_read for batch in batches) == path.stat().st_size
        sources.append(source)  # held, as the CLI holds them: nothing may keep the file open
    assert open_fds() == before


def test_a_source_read_again_yields_the_same_batches_without_detecting_its_format_again(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"action": "x"}\n' * 2500))  # three batches
    source = FileSource(path)
    opened = []
    source._open = lambda real=source._open: opened.append(1) or real()  # type: ignore[method-assign]
    first, second = list(source.batches()), list(source.batches())
    assert len(opened) == 2  # one per read: none for detection
    assert [[r.sequence for r in b.records] for b in first] == [[r.sequence for r in b.records] for b in second]
    assert [b.bytes_read for b in first] == [b.bytes_read for b in second]


def read_bounded(compressed: bytes, limit: int) -> tuple[bytes, str | None]:
    reader = _BoundedGunzip(io.BytesIO(compressed), limit)
    with io.BufferedReader(reader, 7) as buffered:  # small reads: the limit falls inside one
        return buffered.read(), reader.unread


@pytest.mark.parametrize(
    ("case", "compressed", "limit", "expected"),
    [
        ("a gzip that inflates to exactly the limit is read whole", gzip.compress(b"x" * 100), 100, (b"x" * 100, None)),
        ("one byte more stops at the limit, the rest payload_too_large", gzip.compress(b"x" * 101), 100,
         (b"x" * 100, conventions.SKIP_PAYLOAD_TOO_LARGE)),
        ("concatenated members are one stream under one limit", gzip.compress(b"ab") + gzip.compress(b"cd"), 3,
         (b"abc", conventions.SKIP_PAYLOAD_TOO_LARGE)),
        ("a truncated gzip keeps what inflated before the break", gzip.compress(b"x" * 100)[:-8], 1000,
         (b"x" * 100, conventions.SKIP_TRUNCATED_GZIP)),
        ("garbage after the last member is a break, not more text", gzip.compress(b"ab") + b"garbage", 1000,
         (b"ab", conventions.SKIP_TRUNCATED_GZIP)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_gzip_is_read_to_its_end_its_limit_or_its_break(
    case: str, compressed: bytes, limit: int, expected: tuple[bytes, str | None]
) -> None:
    assert read_bounded(compressed, limit) == expected


# --- documents of too many values -------------------------------------------------------------------------


class RecordingDecoder(json.JSONDecoder):
    """A JSON decoder that notes how much text follows where each parse starts, how much where one fails (it may
    have built up to that much before it failed), and how many values each that succeeds builds."""

    parsed: list[int] = []  # noqa: RUF012 - reset by the fixtures
    failed: list[int] = []  # noqa: RUF012
    built: list[int] = []  # noqa: RUF012

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        RecordingDecoder.parsed.append(len(s) - idx)
        try:
            value, end = super().raw_decode(s, idx)
        except (ValueError, RecursionError):
            RecordingDecoder.failed.append(len(s) - idx)
            raise
        RecordingDecoder.built.append(values_built(value))
        return value, end

    @classmethod
    def reset(cls) -> None:
        cls.parsed, cls.failed, cls.built = [], [], []

    @classmethod
    def never_built_whole(cls, most: int) -> bool:
        """No parse built more than `most` values, and none failed with more than _UNCOUNTED characters to go
        (parsed while it was short, or a value at a time, never the document once it was long)."""
        return max(cls.built, default=0) <= most and max(cls.failed, default=0) <= sources._UNCOUNTED


def scale_bounds(monkeypatch: pytest.MonkeyPatch, uncounted: int, small_document: int, read_chunk: int) -> None:
    """The value cap lowered to 1,000, a document counted past `uncounted` characters (unless it ends within
    `small_document`), text read `read_chunk` at a time; every parse noted (RecordingDecoder)."""
    monkeypatch.setattr(sources, "MAX_DOCUMENT_VALUES", 1000)
    monkeypatch.setattr(sources, "_UNCOUNTED", uncounted)
    monkeypatch.setattr(sources, "_SMALL_DOCUMENT", small_document)
    monkeypatch.setattr(sources, "_READ_CHUNK", read_chunk)
    monkeypatch.setattr(sources.json, "JSONDecoder", RecordingDecoder)
    RecordingDecoder.reset()


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bounds scaled down (counted past 2 KiB; read 1 KiB at a time, so a document is read in growing
    pieces), and every parse noted."""
    scale_bounds(monkeypatch, uncounted=2048, small_document=256, read_chunk=1024)


def documents_of(text: str) -> list[object]:
    """The documents of `text`; a long log-events document's chunks joined back into its events (its other
    members are not kept)."""
    documents: list[object] = []
    for item in _json_documents(io.StringIO(text), cut_short=lambda: False):
        if not isinstance(item, _EventsChunk):
            documents.append(item)
        elif item.entries > len(item.events):  # a document's first chunk
            documents.append({"events": list(item.events)})
        else:
            documents[-1]["events"].extend(item.events)  # type: ignore[index]
    return documents


TINY_VALUES = {
    "empty objects": "{}",
    "empty arrays": "[]",
    "floats": "0.5",
    "one-character strings": '"a"',
    "ones": "1",
    "shallow nesting": '{"a":{"a":0}}',
}
BOMB_FORMS = {
    "a pretty-printed list": ("[\n", ",\n", "\n]\n"),
    "a pretty-printed events list": ('{"events": [\n', ",\n", "\n]}\n"),
    "a list on one line": ("[", ",", "]"),
}


@pytest.mark.parametrize("form", BOMB_FORMS)
@pytest.mark.parametrize("value", TINY_VALUES)
def test_a_document_of_more_values_than_the_cap_is_too_large_and_never_parsed(small_bounds, value, form) -> None:
    head, separator, tail = BOMB_FORMS[form]
    bomb = head + separator.join([TINY_VALUES[value]] * 5000) + tail
    assert documents_of(bomb) == [TOO_LARGE]
    assert RecordingDecoder.never_built_whole(3)  # an element at a time at most: `{"a":{"a":0}}` is 3


def test_a_document_just_under_the_cap_is_parsed_whole(small_bounds) -> None:
    document = "[\n" + ",\n".join(["0.5"] * 998) + "\n]\n"  # 1 + 997 commas + 1 bracket = 999 values
    assert documents_of(document) == [[0.5] * 998]


def test_braces_commas_and_quotes_inside_strings_are_not_counted_as_values(small_bounds) -> None:
    message = '{"a": [1, 2], "b": "c\\\\"}, \\"{[,' * 2000  # escaped quotes and backslashes, then a real end
    document = {"events": [{"message": message, "timestamp": 1}, {"message": "\\", "timestamp": 2}]}
    text = json.dumps(document, indent=2)
    assert len(text) > 10 * sources._UNCOUNTED
    assert _DocumentCount().values(text, 0, 1000) == (1 + 4 + 3, False)  # 1, 4 opening brackets, 3 commas
    assert documents_of(text) == [document]


def test_concatenated_documents_are_counted_one_at_a_time_not_together(small_bounds) -> None:
    """A Firehose S3 object: many documents, each well under the cap, together far past it."""
    documents = [{"messageType": "DATA_MESSAGE", "logEvents": [{"id": str(n), "message": "{,}"}] * 100}
                 for n in range(20)]
    for separator in ("", "\n", "\n\n  "):
        for indent in (None, 2):
            text = separator.join(json.dumps(document, indent=indent) for document in documents)
            assert _DocumentCount().values(text, 0, 10**9) == (303, False)  # the first alone; 20 x 303 in all
            assert documents_of(text) == documents


def test_a_long_document_is_not_parsed_until_it_is_whole(small_bounds) -> None:
    """Read 1 KiB at a time, a 45 KiB document was parsed once per read, each parse building it all over again.
    (A log-events document is read an event at a time instead: see the tests of _streamed_events.)"""
    document = {"logEvents": [{"message": "x" * 100, "timestamp": n} for n in range(300)]}  # 902 values
    assert documents_of(json.dumps(document, indent=2)) == [document]
    assert len(RecordingDecoder.parsed) < 20


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab,{}[]"\\\n :'),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet='k,{"\\'), children, max_size=4),
    max_leaves=30,
)


def commas_and_opening_brackets(value: Any) -> int:
    if isinstance(value, list | dict):
        inner = list(value.values()) if isinstance(value, dict) else value
        return 1 + max(len(inner) - 1, 0) + sum(commas_and_opening_brackets(item) for item in inner)
    return 0


def values_built(value: Any) -> int:
    inner = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    return 1 + sum(values_built(item) for item in inner)


@given(first=st.lists(JSON_VALUES, max_size=5) | st.dictionaries(st.text(), JSON_VALUES, max_size=5),
       second=st.lists(JSON_VALUES, max_size=3), indent=st.sampled_from([None, 0, 2]),
       separator=st.sampled_from(["", "\n", " \n "]), window=st.integers(1, 40), cut=st.floats(0, 1))
def test_the_count_bounds_the_values_a_parse_builds_read_whole_or_in_pieces(
    first: Any, second: Any, indent: int | None, separator: str, window: int, cut: float
) -> None:
    """Counted a window of `window` characters at a time, and read as far as `cut` of it first: the count is that
    of the first document alone, and no less than the values its parse builds."""
    text = json.dumps(first, indent=indent) + separator + json.dumps(second, indent=indent)
    expected = 1 + commas_and_opening_brackets(first)
    assert values_built(first) <= expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "_SMALL_DOCUMENT", window)
        assert _DocumentCount().values(text, 0, 10**9) == (expected, False)
        count = _DocumentCount()
        count.values(text[: int(cut * len(text))], 0, 10**9)
        assert count.values(text, 0, 10**9) == (expected, False)


def test_a_gzip_file_may_parse_64_values_per_entry_it_may_still_yield_and_never_more_than_the_ceiling() -> None:
    assert values_left(None) == MAX_DOCUMENT_VALUES
    gunzip = _BoundedGunzip(io.BytesIO(gzip.compress(b"{}")), 1000, entries=100)
    assert values_left(gunzip) == VALUES_PER_ENTRY * 100
    gunzip.spend(60)
    assert values_left(gunzip) == VALUES_PER_ENTRY * 40
    gunzip.spend(100)
    assert values_left(gunzip) == 0
    assert values_left(_BoundedGunzip(io.BytesIO(gzip.compress(b"{}")), 1000, entries=10**9)) == MAX_DOCUMENT_VALUES
