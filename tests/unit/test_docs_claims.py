"""Claims the README and docs make about the CLI and the metrics, checked against the code."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from processors.cli import build_parser
from processors.evaluating import metrics as slo_metrics
from processors.metrics import operator

ROOT = Path(__file__).resolve().parents[2]


def commands_taking(flag: str) -> set[str]:
    """Commands whose parser, or one of whose actions' (`silence add`), takes `flag`."""
    return {name for name, sub in subcommands(build_parser()).items() if takes(sub, flag)}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices) if found else {}


def takes(parser: argparse.ArgumentParser, flag: str) -> bool:
    return any(flag in a.option_strings for a in parser._actions) or any(
        takes(sub, flag) for sub in subcommands(parser).values()
    )


def test_the_readme_names_exactly_the_commands_that_take_db() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"The commands that read or write the store \((.*?)\)\s+take\s+`--db FILE`", readme, re.S)
    assert sentence, "README: the sentence naming the commands that take --db"
    assert set(re.findall(r"`(\w+)`", sentence.group(1))) == commands_taking("--db")
    assert "Every command takes `--db" not in readme


def emitted_metric_names() -> set[str]:
    from processors.spec import load_spec

    constants = [metric.name for metric in load_spec().metrics]  # the spec's operator metrics
    constants += [value for name, value in vars(operator).items() if name.endswith("_METRIC")]
    constants += [value for name, value in vars(slo_metrics).items() if name.startswith("METRIC_")]
    return {value for value in constants if isinstance(value, str)}


def test_no_doc_says_an_emitted_metric_is_not_emitted() -> None:
    emitted = emitted_metric_names()
    assert "TraceCoverage" in emitted
    for path in (ROOT / "docs").glob("*.md"):
        text = " ".join(path.read_text(encoding="utf-8").split())
        denied = set(re.findall(r"`(\w+)` (?:is|are) not emitted", text))
        assert not denied & emitted, f"{path.name} says {sorted(denied & emitted)} is not emitted"


def test_the_log_schema_doc_has_a_row_for_every_skip_kind_the_code_counts() -> None:
    from processors import conventions

    kinds = {value for name, value in vars(conventions).items() if name.startswith("SKIP_") and isinstance(value, str)}
    doc = (ROOT / "docs" / "log-schema.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", doc, re.M))
    assert len(kinds) >= 17
    assert kinds - rows == set()
