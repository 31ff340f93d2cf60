"""Spec lint: warnings about a valid spec that is probably wrong. `slo validate` prints them; --strict fails.

An action that only one SLO, sketch or metric matches on, that no other matcher and no journey uses, and that
the spec's `vocabulary` does not declare is most likely a typo (`runner_startd`): it would silently count
nothing. Declaring the action in `vocabulary:` (or matching it elsewhere) says it is meant. A spec that declares
no vocabulary (no journey, no `vocabulary:`) is not linted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from processors.spec.model import Matcher, Spec


@dataclass(frozen=True)
class SpecWarning:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: warning: {self.message}"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def as_error(self) -> str:
        return f"{self.where}: {self.field}: {self.message} (--strict)"


def lint(spec: Spec) -> list[SpecWarning]:
    """Every warning for `spec`, in spec order."""
    users: dict[str, list[tuple[str, int | None]]] = defaultdict(list)  # action -> (owner field, line)
    for owner, line, matchers in _owners(spec):
        for matcher in matchers:  # at the line of the value that names the action, else the owner's
            for action in sorted(matcher.actions):
                users[action].append((owner, matcher.action_line or line))
    declared = set(spec.journey.tracked if spec.journey else ()) | set(spec.extras.get("declared_vocabulary", ()))
    if not declared:  # a spec that declares no vocabulary gives nothing to compare against
        return []
    warnings = []
    for action, owners in users.items():
        if action in declared or len({owner for owner, _ in owners}) > 1:
            continue
        owner, line = min(owners, key=lambda user: user[1] or 0)  # its first use, when one owner has two
        warnings.append(
            SpecWarning(
                spec.source,
                line,
                owner,
                f"action {action!r} is matched nowhere else and is not in the journey or the vocabulary "
                "(a typo? declare it under `vocabulary:` if it is meant)",
            )
        )
    return sorted(warnings, key=lambda w: (w.line or 0, w.field))


def _owners(spec: Spec) -> list[tuple[str, int | None, list[Matcher]]]:
    owners: list[tuple[str, int | None, list[Matcher]]] = []
    for slo in spec.slos:
        owners.append((f"slos[{slo.name}].sli", slo.line, _matchers(slo.sli)))
    for sketch in spec.latency:
        found = [m for m in (sketch.match, sketch.start, sketch.end) if m is not None]
        owners.append((f"latency[{sketch.name}]", sketch.line, found))
    counters = {counter.name: counter for counter in spec.counters}
    for metric in spec.metrics:
        counter = counters.get(metric.counter or "")
        if counter is not None:
            owners.append((f"metrics[{metric.name}].source", metric.line, _matchers(counter.sli)))
    return owners


def _matchers(sli: Any) -> list[Matcher]:
    names = ("match", "good", "bad", "exclude", "start", "end")
    return [m for m in (getattr(sli, name, None) for name in names) if isinstance(m, Matcher)]
