"""Every `console` example in the README and docs/ is run and compared with the output the doc shows.

A block is a list of `$ command` lines, each followed by its documented output. The sample the docs use
(`events/generate.py --out /tmp/ev`, replayed into /tmp/demo.db) is built once, in a temp directory; `slo` and
`.venv/bin/python` run this checkout's code. Comparison, where the output is deterministic:
- documented lines must appear in the real output in the same order (a doc may leave lines out);
- a line that is only `...` stands for lines left out; `...` inside a line matches anything;
- the NONDETERMINISTIC patterns below (wall-clock times, minted IDs) are masked on both sides;
- a block marked `<!-- example: abbreviated -->` (JSON trimmed to a few fields) is compared by its tokens: every
  string literal and number it shows must occur in the real output.
`sh` blocks are not run: they are `make` targets (tested by CI itself) and AWS deployment steps.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
BLOCK = re.compile(r"(<!-- example: abbreviated -->\n)?```console\n(.*?)```", re.S)
ABBREVIATED_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+\.\d+')
# (pattern, why it varies): masked in both the documented and the real output.
NONDETERMINISTIC = (
    (re.compile(r"in \d+\.\d+s \([\d,]+ events/s\)"), "replay's wall-clock time"),
    (re.compile(r'"timestamp":"[^"]+"'), "slo emit stamps the wall clock"),
    (re.compile(r"minted [0-9a-f-]{36}"), "slo emit mints a random correlation ID"),
    (re.compile(r'"correlationId":"[0-9a-f-]{36}"'), "the minted ID is echoed in the line"),
)
SAMPLE_SETUP = "events/generate.py"  # the block that builds /tmp/ev and /tmp/demo.db runs first


@dataclass(frozen=True)
class Example:
    where: str
    commands: tuple[tuple[str, tuple[str, ...]], ...]  # (command, documented output lines)
    abbreviated: bool

    @property
    def builds_the_sample(self) -> bool:
        return any(SAMPLE_SETUP in command for command, _ in self.commands)


def examples() -> list[Example]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            commands: list[tuple[str, list[str]]] = []
            for line in match.group(2).splitlines():
                if line.startswith("$ "):
                    commands.append((line[2:], []))
                elif commands:
                    commands[-1][1].append(line)
            if commands:
                line_number = text[: match.start()].count("\n") + 1 + bool(match.group(1))
                found.append(
                    Example(
                        f"{path.relative_to(ROOT)}:{line_number}",
                        tuple((command, tuple(output)) for command, output in commands),
                        abbreviated=bool(match.group(1)),
                    )
                )
    return found


EXAMPLES = examples()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A bin/ with `slo` and .venv/bin/python running this checkout; /tmp paths of the docs moved here."""
    base = tmp_path_factory.mktemp("docs")
    bin_dir = base / "bin"
    (bin_dir / ".venv" / "bin").mkdir(parents=True)
    slo = bin_dir / "slo"
    slo.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m processors.cli "$@"\n')
    slo.chmod(slo.stat().st_mode | stat.S_IEXEC)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "/tmp/ev": str(base / "ev"),
        "/tmp/demo.db": str(base / "demo.db"),
        "/tmp/grouped.db": str(base / "grouped.db"),  # docs/slos.md's grouped example
        "/tmp/revised.db": str(base / "revised.db"),  # docs/slos.md's spec revisions example
        "/tmp/revised.yaml": str(base / "revised.yaml"),
        "/tmp/typo.yaml": str(base / "typo.yaml"),  # docs/slos.md's spec lint example
        ".venv/bin/python": sys.executable,
    }


def run_example(example: Example, sandbox: dict[str, str]) -> list[str]:
    """Runs the block's commands in one bash (so `export` carries over); returns each command's output."""
    marker = "@@doc-example@@"
    script = []
    for command, _ in example.commands:
        for old, new in sandbox.items():
            if old.startswith(("/", ".")):
                command = command.replace(old, new)
        script += [f"echo {marker}", f"{{ {command}\n}} 2>&1"]
    env = {**os.environ, "PATH": sandbox["PATH"], "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("CORRELATION_ID", None)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout
    for old, new in sandbox.items():  # the docs' paths again, so paths in the output compare
        if old.startswith("/"):
            output = output.replace(new, old)
    return output.split(f"{marker}\n")[1:]


def masked(line: str) -> str:
    for pattern, _why in NONDETERMINISTIC:
        line = pattern.sub("<varies>", line)
    return line.rstrip()


def missing_lines(documented: tuple[str, ...], actual: str) -> list[str]:
    """Documented lines not found, in order, among the real ones (`...` lines skipped, inline `...` = any)."""
    lines = [masked(line) for line in actual.splitlines()]
    position, missing = 0, []
    for wanted in (masked(line) for line in documented):
        if not wanted.strip() or wanted.strip() == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("...")) + r"\Z")
        for index in range(position, len(lines)):
            if pattern.match(lines[index]):
                position = index + 1
                break
        else:
            missing.append(wanted)
    return missing


def missing_tokens(documented: tuple[str, ...], actual: str) -> list[str]:
    text = " ".join(masked(line) for line in actual.splitlines())
    return [token for token in ABBREVIATED_TOKEN.findall("\n".join(documented)) if token not in text]


@pytest.fixture(scope="module")
def sample(sandbox: dict[str, str]) -> dict[str, list[str]]:
    """The sample-building block, run once before any other (they read the store it writes)."""
    setup = [example for example in EXAMPLES if example.builds_the_sample]
    assert len(setup) == 1, "exactly one doc example builds the sample"
    return {setup[0].where: run_example(setup[0], sandbox)}


def test_the_docs_have_examples_to_run() -> None:
    assert len(EXAMPLES) >= 10
    assert sum(len(example.commands) for example in EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_each_console_example_prints_what_the_doc_shows(
    example: Example, sandbox: dict[str, str], sample: dict[str, list[str]]
) -> None:
    outputs = sample.get(example.where) or run_example(example, sandbox)
    assert len(outputs) == len(example.commands)
    for (command, documented), actual in zip(example.commands, outputs, strict=True):
        compare = missing_tokens if example.abbreviated else missing_lines
        missing = compare(documented, actual)
        assert not missing, f"{example.where}: `{command}` did not print:\n" + "\n".join(missing) + (
            f"\n--- it printed:\n{actual}"
        )
