"""The layers of docs/architecture.md, enforced: what each package may import (lazy imports included), no
package cycles, a pure domain that does no I/O, the light correlation library free of the pipeline, and
test doubles that production code never imports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("processors", "correlation", "subscriptions", "tests")

BASE = {"conventions", "timeutil", "counting", "safety"}
# package -> the packages it may import (besides itself). One rule per layer, lowest first.
MAY_IMPORT: dict[str, set[str]] = {
    "conventions": set(),
    "safety": set(),
    "timeutil": {"conventions"},
    "counting": {"conventions", "timeutil"},
    "spec": BASE,
    "sketch": BASE,
    "decoding": BASE | {"spec"},
    "classifying": BASE | {"spec", "decoding"},
    "stitching": BASE | {"spec", "decoding", "classifying"},
    "store": BASE | {"spec", "decoding", "stitching", "sketch"},
    "ingest": BASE | {"spec", "decoding", "classifying", "stitching", "sketch", "store"},
    "sweeping": BASE | {"spec", "classifying", "stitching", "store", "ingest"},
    "evaluating": BASE | {"spec", "sketch", "classifying"},
    "alerting": BASE | {"spec", "evaluating", "store.types", "store.keys", "store.exceptions"},  # keys: alert state
    # names; exceptions: the port's errors (a damaged item the evaluator Lambda leaves out)
    "metrics": BASE | {"spec", "sketch", "classifying", "evaluating"},
    "tracing": BASE | {"spec", "decoding", "stitching"},  # the spec's journey names the phases
    "rendering": BASE | {"spec", "evaluating", "alerting", "stitching", "tracing"},
    "insights": BASE | {"spec"},
    "dashboards": BASE | {"spec"},
    "replay": BASE | {"spec", "decoding", "ingest", "sweeping", "evaluating", "alerting", "store", "sketch"},
    # the composition roots: they wire stages to stores and may import anything below them
    "handlers": {"*"},
    "cli": {"*"},
}
# The pure domain: functions of (events, spec, now). No clock, no network, no database.
PURE = ("spec", "sketch", "decoding", "classifying", "stitching", "evaluating", "counting", "timeutil")
IO_MODULES = ("boto3", "botocore", "sqlite3", "urllib.request", "socket", "requests")


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at the top or inside a function; `from a import b` yields a.b too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def layer(module: str) -> str | None:
    """processors.store.view -> "store"; processors.conventions -> "conventions"; outside processors: None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "processors" and len(parts) > 1 else None


def allowed(source: str, target_module: str) -> bool:
    rules = MAY_IMPORT[source]
    target = layer(target_module)
    if target is None or target == source or "*" in rules:
        return True
    sub = ".".join(target_module.split(".")[1:3])  # e.g. "store.types"
    return target in rules or sub in rules


def processors_imports() -> Iterator[tuple[str, str, str]]:
    """(source layer, importing module, imported module) for every import between processors' packages."""
    for module, path in modules("processors"):
        source = layer(module)
        if source is None:
            continue
        for imported in imports(path):
            if imported.startswith("processors.") and layer(imported) not in (None, source):
                yield source, module, imported


def test_every_package_has_a_rule() -> None:
    packages = {p.stem if p.is_file() else p.name for p in (ROOT / "processors").iterdir()}
    packages = {p for p in packages if not p.startswith(("_", ".")) and p not in ("py", "slos")}
    assert packages - set(MAY_IMPORT) == set(), "add the new package to MAY_IMPORT and docs/architecture.md"


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for source, module, imported in processors_imports()
        if layer(imported) in MAY_IMPORT and not allowed(source, imported)
    )
    assert wrong == []


def test_no_two_packages_import_each_other() -> None:
    edges = {(source, layer(imported)) for source, _module, imported in processors_imports()}
    cycles = sorted(f"{a} <-> {b}" for a, b in edges if a < str(b) and (b, a) in edges)
    assert cycles == []


@pytest.mark.parametrize("package", PURE)
def test_the_pure_domain_does_no_io(package: str) -> None:
    found = [
        f"{module} imports {imported}"
        for module, path in modules("processors")
        if layer(module) == package
        for imported in imports(path)
        if imported.split(".")[0] in IO_MODULES or imported.startswith(IO_MODULES)
    ]
    assert found == []


def test_the_correlation_library_imports_nothing_from_the_pipeline() -> None:
    found = [
        f"{module} imports {imported}"
        for module, path in modules("correlation")
        for imported in imports(path)
        if imported.split(".")[0] in ("processors", "subscriptions", "tests")
    ]
    assert found == []


@pytest.mark.parametrize("package", ["processors", "correlation", "subscriptions"])
def test_production_code_never_imports_the_tests_or_their_fakes(package: str) -> None:
    found = [
        f"{module} imports {imported}"
        for module, path in modules(package)
        for imported in imports(path)
        if imported.split(".")[0] == "tests" or "fakes" in imported.split(".")
    ]
    assert found == []
    assert not [p for p in (ROOT / package).rglob("*fake*")], "test doubles live under tests/fakes"
