"""Every command closes the store it opened before it returns, whether it succeeds or refuses.

A SQLite store left to the garbage collector is closed whenever it is collected, and that close checkpoints
the write-ahead log into the file: in one process (a test, a tool calling main), the store's bytes then change
at an arbitrary later moment, under whatever runs next.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from processors.store import SqliteStore
from tests.builders import T0, cid, log_line
from tests.history import client, history_messages, seed_log_group

LIVE = [log_line("api_request", T0 + n, cid(n), "Api", status=200 if n % 7 else 500) for n in range(300)]
OLDER = [log_line("api_request", T0 - 3600 + n, cid(1000 + n), "Api", status=200) for n in range(60)]
# argv with DB, EVENTS (live events), OLDER (events before them, for a backfill) and OUT filled in
COMMANDS = [
    ("replay", ["replay", "EVENTS", "--db", "DB"], 0),
    ("status", ["status", "--db", "DB"], 0),
    ("status of a latency sketch", ["status", "--latency", "api-latency", "--db", "DB"], 0),
    ("status of a revision the store lacks", ["status", "--revision", "api-availability@nope", "--db", "DB"], 2),
    ("metrics", ["metrics", "--db", "DB"], 0),
    ("metrics as EMF", ["metrics", "--emf", "--db", "DB"], 0),
    ("metrics of a range", ["metrics", "--since", "5m", "--db", "DB"], 0),
    ("metrics since after --at", ["metrics", "--since", "2030-01-01T00:00:00Z", "--db", "DB"], 2),
    ("report", ["report", "--out", "OUT", "--db", "DB"], 0),
    ("report of a month", ["report", "--month", "2026-10", "--out", "OUT", "--db", "DB"], 0),
    ("report of a month with no data", ["report", "--month", "2030-01", "--out", "OUT", "--db", "DB"], 2),
    ("scorecard", ["scorecard", "--db", "DB"], 0),
    ("alerts", ["alerts", "--db", "DB"], 0),
    ("trace", ["trace", cid(1), "--db", "DB"], 0),
    ("silence add", ["silence", "add", "--all", "--for", "1h", "--reason", "drill", "--db", "DB"], 0),
    ("silence list", ["silence", "list", "--db", "DB"], 0),
    ("silence remove", ["silence", "remove", "nope", "--db", "DB"], 2),
    ("correct", ["correct", "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z", "--to",
                 "2026-10-01T00:01:00Z", "--reason", "test", "--db", "DB"], 0),
    ("backfill", ["backfill", "--slo", "api-availability", "--since", "2h", "OLDER", "--db", "DB"], 0),
    ("backfill since after the live series", ["backfill", "--slo", "api-availability", "--since",
                                              "2030-01-01T00:00:00Z", "OLDER", "--db", "DB"], 2),
]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[SqliteStore]:
    """Every SqliteStore opened from here on (a reference keeps it from being collected, and closed)."""
    stores: list[SqliteStore] = []
    init = SqliteStore.__init__

    def recording(self: SqliteStore, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        stores.append(self)

    monkeypatch.setattr(SqliteStore, "__init__", recording)
    return stores


def is_closed(store: SqliteStore) -> bool:
    try:
        store.db.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    events, older = tmp_path / "app.log", tmp_path / "older.log"
    events.write_text("\n".join(LIVE) + "\n")
    older.write_text("\n".join(OLDER) + "\n")
    db = tmp_path / "slo.db"
    assert main(["replay", str(events), "--db", str(db)]) == 0
    return {"DB": str(db), "EVENTS": str(events), "OLDER": str(older), "OUT": str(tmp_path / "report.html")}


@pytest.mark.parametrize(("case", "argv", "code"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_closes_the_store_it_opened_before_it_returns(
    case: str, argv: list[str], code: int, files: dict[str, str], opened: list[SqliteStore],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([files.get(arg, arg) for arg in argv]) == code, capsys.readouterr().err
    assert opened, case
    assert [is_closed(store) for store in opened] == [True] * len(opened), case


def test_an_import_closes_the_store_it_opened_before_it_returns(
    moto_endpoint: str, tmp_path: Path, opened: list[SqliteStore], capsys: pytest.CaptureFixture[str]
) -> None:
    group = f"/aws/lambda/close-{uuid.uuid4().hex[:8]}"
    seed_log_group(client(moto_endpoint, "logs"), group, history_messages())
    db = tmp_path / "slo.db"
    assert main(["import", "--log-group", group, "--since", "1h", "--logs-endpoint-url", moto_endpoint,
                 "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["import"]["events_fetched"] == 6
    assert opened and all(is_closed(store) for store in opened)
