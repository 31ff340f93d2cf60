"""`make demo-import`'s path: the sample put into a local CloudWatch Logs (moto's server) and backfilled with
`slo import` gives the same `slo status` as `slo replay` of the same sample (one hour of it, to stay quick)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def slo(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "processors.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_slo_import_from_a_seeded_local_cloudwatch_logs_gives_the_status_slo_replay_gives(tmp_path: Path) -> None:
    sample = tmp_path / "ev"
    subprocess.run([sys.executable, "events/generate.py", "--out", str(sample), "--hours", "1"], cwd=ROOT,
                   check=True, capture_output=True)
    replayed, imported = tmp_path / "replay.db", tmp_path / "import.db"
    slo("replay", str(sample), "--db", str(replayed))
    seeded = subprocess.run(
        [sys.executable, "events/local_logs.py", str(sample), "--", sys.executable, "-m", "processors.cli", "import",
         "--log-group-prefix", "/aws/lambda/gha-", "--log-group-prefix", "/ecs/gha-",
         "--log-group-prefix", "/aws/apigateway/gha-", "--since", "2026-10-01T00:00:00Z",
         "--until", "2026-10-01T02:00:00Z", "--logs-endpoint-url", "{endpoint}", "--db", str(imported), "--json"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["import"]["events_fetched"] > 0
    assert json.loads(slo("status", "--db", str(imported), "--json")) == json.loads(
        slo("status", "--db", str(replayed), "--json")
    )
