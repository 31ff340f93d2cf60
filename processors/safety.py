"""Hostile input, handled in one place: a bounded read of a file a user names, an output file that must not
block, and control characters (a newline, a terminal escape) found in text that is kept or printed."""

from __future__ import annotations

import errno
import os
import re
import stat
from typing import TextIO

# C0 and C1 (Unicode's Cc category), and the bidirectional marks, embeddings, overrides and isolates (Cf), which
# make a terminal or an editor show text in another order than it is stored ("Trojan Source")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class NotRegularFileError(OSError):
    """A device, FIFO or folder where a regular file was expected (opening a FIFO blocks, a device never ends)."""


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most `limit` bytes of a regular file (symlinks followed). The type is checked before opening and again
    on the descriptor, opened non-blocking, in case the path was swapped in between; the bounded read keeps a
    file that grows, or lies about its size, under the caller's cap."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise NotRegularFileError(f"{os.fspath(path)}: not a regular file")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotRegularFileError(f"{os.fspath(path)}: not a regular file")
        return handle.read(limit)


def open_to_write(path: str | os.PathLike[str], newline: str | None = None) -> TextIO:
    """`path` opened as open(path, "w", encoding="utf-8") opens it, except that a FIFO no one reads is refused
    (OSError "a FIFO that no one reads") instead of waiting for a reader for good. The open is non-blocking,
    which only a FIFO heeds; a FIFO that is read, a terminal or /dev/null is written as before."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO and stat.S_ISFIFO(os.stat(path).st_mode):
            raise OSError(errno.ENXIO, "a FIFO that no one reads", os.fspath(path)) from None
        raise
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def printable(text: str) -> str:
    """`text` for a terminal, its control characters shown as \\xNN (a bidirectional mark as \\uNNNN): a logged
    escape sequence must not move the cursor or clear the screen of whoever reads it, nor an override reorder it."""
    return _CONTROL.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
