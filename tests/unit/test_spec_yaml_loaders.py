"""The spec's YAML is read through libyaml when PyYAML has it (_FastLoader), and the pure-Python loader
(_LineLoader) stays the reference: both must build the same documents, with the same lines, for every spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from processors.spec import loader
from processors.spec.exceptions import SpecError

REPO = Path(__file__).resolve().parents[2]
SPECS = sorted(
    str(path.relative_to(REPO))
    for pattern in ("slos.yaml", "processors/slos.yaml", "examples/*/slos.yaml", "tests/fixtures/openslo/*.yaml")
    for path in REPO.glob(pattern)
)

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")


def shape(node: Any) -> Any:
    """A document with every mapping's own line, key lines and literal-block lines, to compare exactly."""
    if isinstance(node, dict):
        return ("mapping", getattr(node, "line", None), getattr(node, "lines", None),
                getattr(node, "literal_blocks", None), {key: shape(value) for key, value in node.items()})
    if isinstance(node, list):
        return [shape(item) for item in node]
    return (type(node).__name__, node)


def literal_blocks(node: Any) -> list[int]:
    if isinstance(node, dict):
        return [*getattr(node, "literal_blocks", {}).values(), *(n for v in node.values() for n in literal_blocks(v))]
    if isinstance(node, list):
        return [n for item in node for n in literal_blocks(item)]
    return []


def test_the_repository_holds_specs_to_compare() -> None:
    assert len(SPECS) >= 6 and "processors/slos.yaml" in SPECS


@pytest.mark.parametrize("path", SPECS)
def test_libyaml_and_the_pure_loader_build_the_same_documents_and_lines(path: str) -> None:
    text = (REPO / path).read_text()
    fast = list(yaml.load_all(text, Loader=loader._FastLoader))
    pure = list(yaml.load_all(text, Loader=loader._LineLoader))
    assert fast and shape(fast) == shape(pure)


def test_an_exported_openslo_spec_with_literal_blocks_loads_the_same_both_ways(tmp_path: Path) -> None:
    from processors.cli import main

    out = tmp_path / "openslo.yaml"
    assert main(["export", "--spec", str(REPO / "processors/slos.yaml"), "--out", str(out)]) == 0
    text = out.read_text()
    fast = list(yaml.load_all(text, Loader=loader._FastLoader))
    pure = list(yaml.load_all(text, Loader=loader._LineLoader))
    assert literal_blocks(fast)  # the annotation is a literal block: its lines must agree too
    assert shape(fast) == shape(pure)


@pytest.mark.parametrize(
    "text",
    ["x:\n\t- y\n", "x: @y\n", "a: b: c\n", "x: [unclosed\n", "- a\nb: c\n"],
    ids=["a tab", "a reserved character", "a mapping in a plain scalar", "an unclosed bracket", "a list then a key"],
)
def test_broken_yaml_gets_the_pure_loaders_exact_message(text: str) -> None:
    """libyaml says less ("found character that cannot start any token", not which): its error is read again."""
    with pytest.raises(SpecError) as fast:
        loader.load_yaml_documents(text, "spec.yaml")
    try:
        list(yaml.load_all(text, Loader=loader._LineLoader))
    except yaml.YAMLError as exc:
        problem = str(exc.problem)  # type: ignore[attr-defined]
    assert problem in str(fast.value)
