"""The commands `slo local-dynamodb` suggests are the ones docs/deploy.md runs against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.cli import local_dynamodb, main

DEPLOY_MD = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")


class NoServer:
    """Stands in for moto's server: starts, and returns from wait() at once."""

    def __init__(self, host: str, port: int) -> None:
        self.endpoint = f"http://{host}:{port}"

    def start(self) -> None: ...

    def wait(self) -> None: ...

    def stop(self) -> None: ...


def test_the_replay_it_suggests_is_the_docs_sample_not_make_demos_four_days(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said `slo replay events/`: the hand-written sample event, plus events/stream/'s 4 days after make demo."""
    monkeypatch.setattr(local_dynamodb, "LocalDynamoDB", NoServer)
    assert main(["local-dynamodb", "--port", "8000"]) == 0
    suggested = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert any(line.startswith("slo replay /tmp/ev/stream/ ") for line in suggested), suggested
    for line in suggested:
        command = line.split("  #")[0].strip()
        assert command.replace(".venv/bin/", "") in DEPLOY_MD.replace(".venv/bin/", ""), command
