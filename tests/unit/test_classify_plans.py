"""The classifier's per-action plans (conditions on metadata.action decided once per action, the rest tested on
the metadata dict read once per event) answer as the matchers' own `matches`, `is_good` and `group_of` do, for
random specs and logs: metadata missing or not a dict, metadata.action other than the event's action or an equal
copy of it, lines of every shipped log shape through decoding, and the shipped and example specs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from processors.classifying.classify import Classifier, LatencySample, SliEvent, dispatch
from processors.decoding import LineParser, Position
from processors.decoding.types import LogEvent
from processors.spec import Spec, load_spec
from processors.spec.model import Condition, EventsSli, LatencySketch, Matcher, Slo, TimeSliceSli

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ["api_request", "cache_hit", "cache_miss", "other", ""]
VALUES = [None, True, False, 0, 1, 499, 500, 500.0, 1.5, "", "500", "success", "cache_hit", "api_request", [1],
          {"a": 1}]
PATHS = [("metadata", "action"), ("metadata", "status"), ("metadata", "conclusion"), ("status",),
         ("metadata", "a", "b"), ("metadata",)]


def reference(classifier: Classifier, spec: Spec, event: LogEvent) -> tuple[list[SliEvent], list[LatencySample]]:
    """What an event stands for, read through Matcher.matches, EventsSli.is_good and Slo.group_of, in the
    order the dispatch tables give (built by the classifier from Matcher.dispatch_keys)."""
    log, results, samples = event.log, [], []
    by_action, sketches = classifier._by_action, classifier._sketches_by_action
    slos = dispatch(by_action, event.action) if event.action in by_action else by_action.get(None, [])
    for slo in slos:
        sli = slo.sli
        if isinstance(sli, TimeSliceSli):
            if sli.good.matches(log) or sli.bad.matches(log):
                results.append(SliEvent(slo.series(), event.time, sli.good.matches(log), event.correlation_id))
        elif isinstance(sli, EventsSli) and sli.match.matches(log) and not (sli.exclude and sli.exclude.matches(log)):
            group = slo.group_of(log) if slo.group_by else None
            results.append(SliEvent(slo.series(), event.time, sli.is_good(log), event.correlation_id, group))
    found = dispatch(sketches, event.action) if event.action in sketches else sketches.get(None, [])
    for sketch in found:
        assert sketch.match is not None
        value: Any = log
        for part in sketch.value_path:
            value = value.get(part) if isinstance(value, dict) else None
        if (sketch.match.matches(log) and isinstance(value, int | float) and not isinstance(value, bool)
                and 0 <= value < 1e12):
            samples.append(LatencySample(spec.sketch_series(sketch.name), event.time, float(value)))
    return results, samples


def random_spec(rng: random.Random) -> Spec:
    operands = {"eq": VALUES + ACTIONS, "in": [["cache_hit", "cache_miss"], ["api_request", 500], [], [None, True]],
                "not_in": [["api_request"], [1, None]], "lt": [500, 1.5], "le": [500], "gt": [0], "ge": [499]}

    def condition() -> Condition:
        path = rng.choice(PATHS[:3] * 3 + PATHS)  # mostly the metadata fields specs name
        op = rng.choice(["eq", "eq", "in"] if path == ("metadata", "action") else list(operands))
        return Condition(path, op, rng.choice(ACTIONS if op == "eq" and path == PATHS[0] else operands[op]))

    def matcher(pinned: bool) -> Matcher:
        conditions = [condition() for _ in range(rng.randint(0 if rng.random() < 0.05 else 1, 3))]
        if pinned:
            conditions.insert(rng.randint(0, len(conditions)), Condition(PATHS[0], "eq", rng.choice(ACTIONS[:4])))
        return Matcher(tuple(conditions))

    slos = []
    for index in range(rng.randint(1, 6)):
        if rng.random() < 0.3:
            sli: Any = TimeSliceSli(matcher(rng.random() < 0.7), matcher(rng.random() < 0.5))
        else:
            good, bad = rng.choice([(matcher(False), None), (None, matcher(False)), (None, None)])
            exclude = matcher(rng.random() < 0.2) if rng.random() < 0.3 else None
            sli = EventsSli(matcher(rng.random() < 0.8), good, exclude, bad=bad)
        grouped = rng.random() < 0.2
        slos.append(Slo(f"s{index}", 0.99, sli, 3600, group_by=("status",) if grouped else (),
                        group_paths=(("metadata", "status"),) if grouped else ()))
    sketches = tuple(
        LatencySketch(f"k{index}", match=matcher(rng.random() < 0.7),
                      value_path=rng.choice([("metadata", "status"), ("metadata", "duration"), ("status",)]))
        for index in range(rng.randint(0, 3))
    )
    return Spec(slos=tuple(slos), latency=sketches)


class Agreeable(str):
    """An action equal to anything: a plan that decided metadata.action as a plain str would answer otherwise."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return True


def random_event(rng: random.Random) -> LogEvent:
    action = rng.choice(ACTIONS)
    if rng.random() < 0.05:
        action = Agreeable(action)
    shape = rng.random()
    log: Any
    if shape < 0.1:
        log = rng.choice([{}, {"metadata": None}, {"metadata": [action]}, {"metadata": "x"}])
    else:
        metadata = {key: rng.choice(VALUES) for key in rng.sample(["status", "conclusion", "duration", "a"], 2)}
        if shape < 0.6:
            metadata["action"] = action  # as decoding makes it: the very object
        elif shape < 0.75:
            metadata["action"] = "".join(list(action))  # equal, not the same object
        elif shape < 0.9:
            metadata["action"] = rng.choice(ACTIONS + VALUES)
        log = {"metadata": metadata, "status": rng.choice(VALUES)}
    return LogEvent(Position(1), 1_790_812_800.0, "cid", action, "svc", log)


def test_plans_answer_as_the_matchers_do_for_random_specs_and_logs() -> None:
    rng = random.Random(15)
    for _ in range(300):
        spec = random_spec(rng)
        classifier = Classifier(spec)
        for _ in range(60):
            event = random_event(rng)
            expected = reference(classifier, spec, event)
            assert (classifier.classify(event), classifier.latency_samples(event)) == expected, (spec, event)


LINES = [
    {"timestamp": "2026-10-01T00:00:01Z", "correlationId": "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01", "service": "Api",
     "metadata": {"action": "api_request", "status": 503, "duration": 12}},
    {"level": "INFO", "timestamp": "2026-10-01 00:00:01,000+0000", "service": "Api", "action": "api_request",
     "status": 200, "duration": 4},  # Powertools: fields at the top
    {"requestTime": "01/Oct/2026:00:00:01 +0000", "status": "503", "responseLatency": "7"},  # access log
    {"requestTime": "01/Oct/2026:00:00:01 +0000", "status": "200", "responseLatency": "7",
     "metadata": {"action": "cache_hit"}},  # an access log whose nested metadata names another action
    {"timestamp": "2026-10-01T00:00:09Z", "message": json.dumps(
        {"timestamp": "2026-10-01T00:00:01Z", "metadata": {"action": "workflow_completed", "conclusion": "success",
                                                           "repository": "r", "duration": 3}})},
    {"timestamp": "2026-10-01T00:00:01Z", "action": "workflow_completed", "conclusion": "cancelled"},
    {"timestamp": "2026-10-01T00:00:01Z", "metadata": {"action": "cache_miss", "bytes": 10}},
    {"timestamp": "2026-10-01T00:00:01Z", "metadata": {"action": "order_placed", "status": 500, "total": 3}},
]
SPECS = [ROOT / "slos.yaml", *sorted((ROOT / "examples").glob("*/slos.yaml"))]


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_plans_answer_as_the_matchers_do_for_every_shipped_log_shape_and_spec(path: Path) -> None:
    spec = load_spec(path)
    classifier, parser = Classifier(spec), LineParser(spec.log_format)
    actions = sorted({a for a in (*spec.vocabulary, "api_request", "cache_hit", "other") if isinstance(a, str)})
    rng = random.Random(15)
    for line in LINES * 20:
        line = json.loads(json.dumps(line))
        metadata = line.get("metadata")
        if isinstance(metadata, dict) and rng.random() < 0.5:  # another action, or fields the specs read
            metadata.update(action=rng.choice(actions), status=rng.choice(VALUES), conclusion=rng.choice(VALUES))
        event = parser.parse(json.dumps(line), 1_790_812_800_000, Position(1))
        assert isinstance(event, LogEvent), (line, event)
        assert (classifier.classify(event), classifier.latency_samples(event)) == reference(classifier, spec, event)
