"""How `slo replay` reads a file: lines bounded, blank lines for next to nothing, gzip inflated only so far."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors import conventions
from processors.replay.sources import (
    ENTRY_FLOOR,
    INFLATE_FLOOR_BYTES,
    MAX_ENTRIES_PER_BYTE,
    MAX_INFLATE_RATIO,
    TOO_LARGE,
    FileSource,
    _bounded_lines,
    _BoundedGunzip,
    decodable_batches,
    entries_of,
    entry_bound,
    inflate_bound,
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
