"""The terminal console every table and waterfall prints through."""

from __future__ import annotations

import errno
import os

from rich.console import Console


class PipeConsole(Console):
    """A rich Console that leaves a closed pipe (`slo status | head -1`) to the CLI, as `print` does: rich's own
    answer is SystemExit(1), so a reader that stopped early made the command fail."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more from this console
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
