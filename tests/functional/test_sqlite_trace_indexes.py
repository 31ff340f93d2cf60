"""SQLite's trace-search indexes are partial (heads with a workflow or a repository only): the searches still
read them, and a store file made with the old full indexes is opened with the partial ones instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.stitching import TraceHead
from processors.store import Commit, HeadWrite, SqliteStore
from tests.builders import T0, cid

OLD_INDEXES = """DROP INDEX traces_with_workflow; DROP INDEX traces_with_repository;
CREATE INDEX traces_by_workflow ON traces (workflow_id, first_seen_ms);
CREATE INDEX traces_by_repository ON traces (repository, first_seen_ms);"""


def heads() -> dict[str, HeadWrite]:
    """Two heads of a workflow run (one with its repository) and a plain API request with neither."""
    first_seen = int(T0 * 1000)
    return {
        cid(1): HeadWrite(TraceHead(cid(1), workflow_id="wf-1", repository="acme/web", first_seen_ms=first_seen), 0),
        cid(2): HeadWrite(TraceHead(cid(2), workflow_id="wf-1", first_seen_ms=first_seen + 1000), 0),
        cid(3): HeadWrite(TraceHead(cid(3), first_seen_ms=first_seen + 2000), 0),
    }


def trace_indexes(store: SqliteStore) -> set[str]:
    rows = store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces' "
                            "AND name NOT LIKE 'sqlite_autoindex%'")
    return {name for (name,) in rows}


@pytest.mark.parametrize(
    ("by", "index", "expected"),
    [("workflow", "traces_with_workflow", [cid(2), cid(1)]), ("repository", "traces_with_repository", [cid(1)])],
    ids=["a search by workflow reads the workflow index", "a search by repository reads the repository index"],
)
def test_a_trace_search_reads_its_partial_index(tmp_path: Path, by: str, index: str, expected: list[str]) -> None:
    store = SqliteStore(tmp_path / "slo.db")
    store.commit(Commit(heads=heads()))
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    found = store.find_traces(workflow_id="wf-1") if by == "workflow" else store.find_traces(repository="acme/web")
    store.db.set_trace_callback(None)
    (query,) = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]  # values bound in
    plan = " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + query))
    assert f"USING INDEX {index}" in plan, plan
    assert [c for c, _ in found] == expected


def test_a_store_made_with_the_full_indexes_is_opened_with_the_partial_ones_and_finds_the_same(tmp_path: Path) -> None:
    old = SqliteStore(tmp_path / "slo.db")
    old.commit(Commit(heads=heads()))
    old.db.executescript(OLD_INDEXES)
    assert trace_indexes(old) == {"traces_by_workflow", "traces_by_repository", "traces_open"}
    old.close()
    store = SqliteStore(tmp_path / "slo.db")
    assert trace_indexes(store) == {"traces_with_workflow", "traces_with_repository", "traces_open"}
    assert [c for c, _ in store.find_traces(workflow_id="wf-1")] == [cid(2), cid(1)]
    assert [c for c, _ in store.find_traces(repository="acme/web")] == [cid(1)]
