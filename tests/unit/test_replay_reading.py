"""How `slo replay` reads a file's lines: bounded, and blank lines for next to nothing."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from processors.replay.sources import TOO_LARGE, _bounded_lines


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

    def readline(self, size: int | None = -1) -> str:
        self.calls += 1
        return super().readline(size)


def test_a_run_of_blank_lines_costs_one_read_per_chunk_not_one_per_line() -> None:
    text = CountingText("\n" * 1_000_000 + "  \n" * 1000 + '{"a": 1}\n')
    assert list(_bounded_lines(text, 1 << 20, chunk_size=1 << 16)) == ['{"a": 1}\n']
    assert text.calls <= 1_003_000 // (1 << 16) + 2
