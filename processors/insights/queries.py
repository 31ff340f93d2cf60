"""CloudWatch Logs Insights queries generated from the spec: each SLO's good/total straight from the log groups,
plus "trace by correlation ID" and "errors by service". `slo dashboards` writes them into sam/template.yaml as
AWS::Logs::QueryDefinition resources (between GENERATED markers, like the dashboards).

The queries use a small subset of Logs Insights QL: `filter` with = < <= > >= `in` `not` `and` `or` and `=~`,
`stats` (count(*), sum, earliest, max, min, count_distinct, by a field or bin()) at most twice, `sort`, `limit`.
A comparison inside sum() counts as 1 or 0. tests/logs_insights.py interprets exactly this subset, and a parity
test checks each SLO query's counts against `slo status` on the sample.

What a log query cannot see, and `slo status` counts: runners swept after max_runtime without a log line
(orphan-rate). Events and time-slice SLIs count lines without a usable correlation ID, as the pipeline does;
resolution and latency SLIs are stitched by correlation ID, so their queries keep only lines with a UUID one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from processors.spec.model import (
    Condition,
    EventsSli,
    LatencySli,
    Matcher,
    ResolutionSli,
    Slo,
    Spec,
    TimeSliceSli,
)
from processors.timeutil import format_duration

# The decoder's rule (processors/decoding): a UUID correlation ID, any case; others join no trace.
CORRELATED: Final = (
    "correlationId =~ /(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/"
)
BEGIN_MARKER: Final = "# BEGIN GENERATED query definitions"
END_MARKER: Final = "# END GENERATED query definitions"
TRACE_PLACEHOLDER: Final = "00000000-0000-0000-0000-000000000000"


class InsightsError(Exception):
    """A spec the queries cannot express, or a template without the GENERATED markers."""


@dataclass(frozen=True)
class Query:
    name: str  # the saved query's name in the console (folders with "/")
    text: str
    resource: str  # the template's logical ID


def field(path: tuple[str, ...]) -> str:
    return ".".join(path)


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def condition(c: Condition) -> str:
    name = field(c.path)
    if c.op == "eq":
        return f"{name} = {literal(c.value)}"
    if c.op in ("in", "not_in"):
        listed = f"{name} in [{', '.join(literal(v) for v in c.value)}]"
        return listed if c.op == "in" else f"not ({listed})"
    symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[c.op]
    return f"{name} {symbol} {literal(c.value)}"


def matcher(m: Matcher) -> str:
    if not m.conditions:
        raise InsightsError("an empty matcher matches nothing: no query for it")
    parts = [condition(c) for c in m.conditions]
    return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"


def slo_query(slo: Slo) -> str:
    """good and total of the SLO over the range the query runs on (the console's or the API's time range)."""
    sli = slo.sli
    lines = [f"# {slo.name}: good and total over the query's time range (objective {slo.objective:g})"]
    if isinstance(sli, EventsSli):
        where = matcher(sli.match)
        if sli.exclude is not None:
            where += f" and not {matcher(sli.exclude)}"
        good = matcher(sli.good) if sli.good is not None else f"not {matcher(sli.bad or sli.match)}"
        lines += [f"filter {where}", f"| stats sum({good}) as good, count(*) as total"]
    elif isinstance(sli, TimeSliceSli):
        lines += [
            f"filter {matcher(sli.good)} or {matcher(sli.bad)}",
            f"| stats sum({matcher(sli.good)}) as hits, count(*) as lookups "
            f"by bin({format_duration(sli.slice_seconds)})",
            f"| stats sum(hits >= {sli.min_ratio!r} * lookups) as good, count(*) as total",
        ]
    elif isinstance(sli, ResolutionSli):
        # The first resolution of each unit of work wins, as in the pipeline.
        lines += [
            f"filter {CORRELATED} and ({matcher(sli.good)} or {matcher(sli.bad)})",
            f"| stats earliest({_action_field(sli.good)}) as first by correlationId",
            f"| stats sum(first in [{', '.join(literal(a) for a in sorted(sli.good.actions))}]) as good, "
            "count(*) as total",
        ]
    elif isinstance(sli, LatencySli):
        # One start and one end per correlation ID (the sample's case): the pair's span is last - first.
        lines += [
            f"filter {CORRELATED} and ({matcher(sli.start)} or {matcher(sli.end)})",
            "| stats min(@timestamp) as first_ms, max(@timestamp) as last_ms, "
            f"count_distinct({_action_field(sli.end)}) as ends by correlationId",
            f"| stats sum(ends = 2 and last_ms - first_ms <= {sli.threshold_ms!r}) as good, sum(ends = 2) as total",
        ]
    else:  # pragma: no cover - the spec has four SLI kinds
        raise InsightsError(f"{slo.name}: no query for SLI kind {slo.kind}")
    return "\n".join(lines)


def _action_field(m: Matcher) -> str:
    if not m.actions:
        raise InsightsError("resolution and latency queries need matchers that pin metadata.action")
    return "metadata.action"


TRACE_QUERY: Final = "\n".join(
    [
        "# Every log line of one correlation ID across services, in time order (replace the ID)",
        "fields @timestamp, service, metadata.action, metadata.duration, level, message",
        f'| filter correlationId = "{TRACE_PLACEHOLDER}"',
        "| sort @timestamp asc",
        "| limit 1000",
    ]
)
ERRORS_QUERY: Final = "\n".join(
    [
        "# Errors by service and action: ERROR lines and 5xx responses",
        'filter level = "ERROR" or metadata.status >= 500',
        "| stats count(*) as errors by service, metadata.action",
        "| sort errors desc",
    ]
)


def _resource(name: str) -> str:
    return "Insights" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part) + "Query"


def queries(spec: Spec) -> tuple[Query, ...]:
    """One query per SLO, then the trace and errors queries; names are grouped under slo-pipeline/."""
    found = [Query(f"slo-pipeline/SLO {slo.name}", slo_query(slo), _resource(f"slo {slo.name}")) for slo in spec.slos]
    found.append(Query("slo-pipeline/Trace by correlation ID", TRACE_QUERY, "InsightsTraceQuery"))
    found.append(Query("slo-pipeline/Errors by service", ERRORS_QUERY, "InsightsErrorsQuery"))
    return tuple(found)


def template_block(found: tuple[Query, ...], indent: str = "  ") -> str:
    """The resources, as YAML lines for the template's Resources section."""
    lines: list[str] = []
    for query in found:
        lines += [
            f"{indent}{query.resource}:",
            f"{indent}  Type: AWS::Logs::QueryDefinition",
            f"{indent}  Properties:",
            f"{indent}    Name: !Sub ${{AWS::StackName}}/{query.name}",
            f"{indent}    LogGroupNames: !If [HasInsightsLogGroups, !Ref InsightsLogGroupNames, !Ref AWS::NoValue]",
            f"{indent}    QueryString: |",
            *[f"{indent}      {line}" for line in query.text.splitlines()],
            "",
        ]
    return "\n".join(lines)


def rewrite_template(text: str, found: tuple[Query, ...]) -> str:
    pattern = re.compile(
        rf"^(?P<indent>[ \t]*){re.escape(BEGIN_MARKER)}\n.*?^[ \t]*{re.escape(END_MARKER)}\n", re.M | re.S
    )
    match = pattern.search(text)
    if match is None:
        raise InsightsError(f"template has no {BEGIN_MARKER!r} … {END_MARKER!r} markers")
    indent = match.group("indent")
    block = f"{indent}{BEGIN_MARKER}\n{template_block(found, indent)}{indent}{END_MARKER}\n"
    return text[: match.start()] + block + text[match.end() :]
