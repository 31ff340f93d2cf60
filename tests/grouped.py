"""A grouped SLO's scenario, as data: deploys of several repositories, one of which starts failing.

tests/functional/test_grouped_slos.py runs it through the real ingest, store and alerting on both adapters.
Event times and outcomes are fixed (no randomness), so every count is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from processors.alerting import record_evaluation
from processors.decoding import decode_record
from processors.evaluating.service import evaluate_at
from processors.ingest import Ingestor
from processors.spec import Spec, parse_spec
from processors.store.view import StoreView
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, log_line
from tests.fakes.alerting import MemoryNotifier

SHARD = "shardId-000000000000"
MINUTE = 60

GROUPED_SPEC = """\
apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: deploy-success
    objective: 0.995
    group_by: [repository]
    group_limit: {limit}
    sli:
      events:
        match: {{action: workflow_completed}}
        exclude: {{conclusion: cancelled}}
        good: {{conclusion: success}}
  - name: api-availability
    objective: 0.999
    sli:
      events:
        match: {{action: api_request}}
        good: {{status: {{lt: 500}}}}
"""


def grouped_spec(limit: int = 100) -> Spec:
    return parse_spec(GROUPED_SPEC.format(limit=limit), "grouped.yaml")


@dataclass(frozen=True)
class Deploys:
    """`per_minute` deploys of each repository every minute; `failing` fails every other one from `fails_from`."""

    repositories: tuple[str, ...] = ("acme/web", "acme/api", "acme/docs")
    failing: str = "acme/api"
    per_minute: int = 2
    minutes: int = 120
    fails_from: int = 60  # minutes after T0

    def lines(self, minute: int) -> Iterator[str]:
        for index, repository in enumerate(self.repositories):
            for n in range(self.per_minute):
                at = T0 + minute * MINUTE + 1 + index * 10 + n * 5
                failed = repository == self.failing and minute >= self.fails_from and n % 2 == 0
                number = (minute * len(self.repositories) + index) * self.per_minute + n
                yield log_line(
                    "workflow_completed", at, cid(number), repository=repository,
                    conclusion="failure" if failed else "success",
                )


def deliver(store: Any, spec: Spec, lines: list[str], sequence: int) -> Any:
    """One Kinesis record of `lines`, ingested (sequence numbers must grow)."""
    record = kinesis_record(gz(cw_payload(lines)), sequence)
    return Ingestor(store, spec).apply_batch(STREAM_ARN, SHARD, [decode_record(record)])


def run(store: Any, spec: Spec, deploys: Deploys, every: int = 5) -> MemoryNotifier:
    """Ingest minute by minute; evaluate and record alerts every `every` minutes, as the evaluator does."""
    notifier = MemoryNotifier()
    for minute in range(deploys.minutes):
        deliver(store, spec, list(deploys.lines(minute)), 1000 + minute)
        now = int(T0) + (minute + 1) * MINUTE
        if (minute + 1) % every == 0:
            view = StoreView(store)
            record_evaluation(store, view, evaluate_at(view, spec, now, readings=False).evaluation, notifier)
    return notifier
