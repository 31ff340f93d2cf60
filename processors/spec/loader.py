"""Load and validate the versioned SLO spec file (apiVersion slo-pipeline/v1) into the frozen model.

Every error names file:line and the field, so `slo validate` can print it as one line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Hashable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeGuard, cast

import yaml

from processors import conventions
from processors.safety import NotRegularFileError, has_control_characters, read_regular_file
from processors.spec.exceptions import SpecError
from processors.spec.model import (
    DEFAULT_ROUTES,
    ROUTE_NAMES,
    AccessLogRule,
    AlertPolicy,
    BurnRateTier,
    Comparison,
    Condition,
    EventsSli,
    Journey,
    LatencySketch,
    LatencySli,
    LogFormat,
    Matcher,
    MetricKind,
    OperatorMetric,
    Phase,
    Resolution,
    ResolutionSli,
    Sli,
    Slo,
    Spec,
    Targets,
    TimeSliceSli,
)
from processors.timeutil import format_duration, parse_duration

API_VERSION = "slo-pipeline/v1"
TOP_LEVEL_FIELDS = {
    "name", "objective", "sli", "window", "description", "runbook", "alerting", "metric", "group_by", "group_limit",
}
ROOT_FIELDS = {
    "apiVersion", "kind", "defaults", "slos", "latency", "metadata", "journey", "vocabulary", "metrics", "targets",
    "routes",
    "log_format",
    "traces",
}
JOURNEY_FIELDS = {"name", "milestones", "phases", "opens", "resolutions", "max_runtime", "fields", "services"}
METRIC_KINDS: dict[str, str] = {  # kind -> default unit
    "count": "Count",
    "rate": "Count/Second",
    "ratio": "None",
    "gauge": "Count",
    "utilization": "None",
    "latency": "Milliseconds",
    "mean": "None",
    "cost": "None",
    "mttr": "Seconds",
}
GAUGE_OPEN_UNITS = "open_units"
MTTR_SOURCE = "alert_log"
LOG_TOP_LEVEL_FIELDS = {"timestamp", "level", "correlationId", "service", "message"}
COMPARISONS = {"in", "not_in", "lt", "le", "gt", "ge"}
_SCALAR_VALUES = (str, int, float, bool, type(None))  # what an `in` / `not_in` list may hold
ACTION_PATH = ("metadata", "action")
# The decoder keeps only a string as an event's action, and the dispatch and `slo validate` sort actions: a number,
# null or date there would match no event and break both.
_NOT_AN_ACTION = "an action is a non-empty string: give one, or {in: [...]} or {not_in: [...]} of them"
MAX_SPEC_BYTES = 1024 * 1024  # a spec is a page of YAML; a bigger file is a mistake or an attack
MAX_NUMBER_CHARS = 100  # far beyond any count, ratio or duration, far below a float's range (1.8e308)
MAX_WINDOW_SECONDS = 400 * conventions.DAY  # any duration in the spec: windows, tiers, max_runtime
# trace heads live this long (an epoch-seconds TTL) and the orphan sweep looks back as far, an hour per query
MAX_TRACE_TTL_DAYS = MAX_WINDOW_SECONDS // conventions.DAY
LOG_FORMAT_FIELDS = ("correlation_id", "action", "time", "service", "level", "metadata")
VALIDATION_MODES = ("lax", "warn", "strict")
MAX_NAME_LENGTH = 200  # SLO and sketch names go into store keys (DynamoDB: 2,048 bytes a partition key)
NAME_RULE = f"must be a non-empty string of at most {MAX_NAME_LENGTH} characters, with no control characters"
MAX_TRACE_METADATA_KEYS = 100  # `traces.metadata`: a stored event keeps at most MAX_KEYS of them anyway
MAX_METADATA_KEY_LENGTH = 128
MAX_METRIC_NAME_LENGTH = 255  # CloudWatch's (processors.metrics.emf refuses a longer name)
MAX_COST_PER_HOUR = 1_000_000  # times a mean in hours: 1e308 overflowed to inf, which EMF refuses every minute
METRIC_NAME_RULE = f"must be a metric name (letters, digits, _; at most {MAX_METRIC_NAME_LENGTH})"


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers the line of each key, and of the `|` of each value that is a literal block."""

    line: int = 0
    lines: dict[str, int]
    literal_blocks: dict[str, int]


def _refuse_anchor(event: Any) -> None:
    """Anchors and aliases are refused: an alias bomb in a description once took 1.6 GB."""
    line = event.start_mark.line + 1 if event.start_mark is not None else None
    if isinstance(event, yaml.AliasEvent):
        raise SpecError("YAML aliases are not allowed", line=line, field=f"*{event.anchor}")
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        raise SpecError("YAML anchors are not allowed", line=line, field=f"&{anchor}")


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and keeps each mapping's lines (pure Python: see _FastLoader)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        _refuse_anchor(self.peek_event())
        return super().compose_node(parent, index)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """PyYAML's scalar constructors raise plain Python errors on values their pattern lets through
        (`0000-01-01`, `2026-02-30`, `!!int abc`, `!!timestamp x`): each becomes a one-line SpecError at its line."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError, AttributeError) as exc:
            kind = str(node.tag).rsplit(":", 1)[-1]
            reason = f": {str(exc)[:100]}" if isinstance(exc, ValueError | OverflowError) else ""
            raise SpecError(f"not a valid {kind}{reason}", line=node.start_mark.line + 1) from None


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.lines, mapping.literal_blocks = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise SpecError("keys must be strings", line=key_node.start_mark.line + 1, field=str(key))
        if key in mapping:
            raise SpecError("duplicate key", line=key_node.start_mark.line + 1, field=key)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode) and value_node.style == "|":  # its `|` may be on a later line
            mapping.literal_blocks[key] = value_node.start_mark.line + 1
    return mapping


def literal_block_line(mapping: Any, key: str) -> int | None:
    """The line of the `|` that opens `mapping[key]` when that value is a literal block, else None: line n of
    the block's text is then line (that line + n) of the file."""
    blocks: dict[str, int] = getattr(mapping, "literal_blocks", {})  # a mapping built elsewhere has none
    return blocks.get(key)


def _check_number_length(node: yaml.ScalarNode) -> None:
    """A YAML number of at most MAX_NUMBER_CHARS characters: a longer integer exceeds Python's int-string limit
    (4300 digits), a float's range, or takes seconds to build (YAML 1.1's base 60: `1:1:1:...`), and a long base-60
    float overflows while PyYAML builds it."""
    if len(node.value) > MAX_NUMBER_CHARS:
        raise SpecError(f"a number longer than {MAX_NUMBER_CHARS} characters", line=node.start_mark.line + 1)


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> int:
    _check_number_length(node)
    return cast(int, loader.construct_yaml_int(node))


def _construct_float(loader: _LineLoader, node: yaml.ScalarNode) -> float:
    _check_number_length(node)
    return cast(float, loader.construct_yaml_float(node))


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_LineLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)

if yaml.__with_libyaml__:  # PyYAML's wheels bundle libyaml; a build without it reads every spec the pure way
    from yaml._yaml import CParser

    class _FastLoader(CParser, _LineLoader):
        """The same constructors over libyaml's parser and composer, about 8x faster (17 ms -> 2 ms for the
        packaged spec, at every cold start and CLI call). libyaml composes in C, so compose_node's anchor check
        never runs: load_yaml_documents checks the events first, when the text could hold one."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def default_spec_path() -> str:
    """$SLO_SPEC_PATH when set, else ./slos.yaml when present, else the packaged default."""
    if os.environ.get(conventions.ENV_SPEC_PATH):
        return os.environ[conventions.ENV_SPEC_PATH]
    if Path("slos.yaml").is_file():
        return "slos.yaml"
    return str(resources.files("processors").joinpath("slos.yaml"))


def load_spec(path: str | os.PathLike[str] | None = None) -> Spec:
    source = str(path) if path is not None else default_spec_path()
    try:
        data = read_regular_file(source, MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a short YAML file", path=source)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", path=source) from None
    except NotRegularFileError:
        raise SpecError("not a regular file", path=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", path=source) from None
    return parse_spec(text, source)


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a short YAML file", path=source)
    documents = load_yaml_documents(text, source)
    from processors.spec.openslo import is_openslo, openslo_to_native

    if is_openslo(documents):  # OpenSLO v1: mapped onto the native document, then read like one
        return _Reader(source).spec(openslo_to_native(documents, source, _Mapping))
    if len(documents) > 1:
        raise SpecError("one YAML document expected (or OpenSLO v1 documents)", path=source, line=1)
    return _Reader(source).spec(documents[0] if documents else None)


def load_yaml_documents(text: str, source: str) -> list[Any]:
    """The YAML documents of `text`, loaded with the spec's guards (no anchors or aliases, bounded numbers,
    lines kept); deep nesting and syntax errors become one-line SpecErrors naming `source`."""
    try:
        if yaml.__with_libyaml__:
            try:
                if "&" in text or "*" in text:  # an anchor or alias needs one of them
                    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
                        _refuse_anchor(event)
                return list(yaml.load_all(text, Loader=_FastLoader))
            except yaml.YAMLError:  # libyaml's messages are vaguer ("found character that cannot start any
                pass  # token", not which): a broken spec is read again the pure way, for its exact error
        return list(yaml.load_all(text, Loader=_LineLoader))
    except SpecError as exc:
        raise SpecError(exc.reason, path=source, line=exc.line, field=exc.field) from None
    except RecursionError:
        raise SpecError("nested too deeply", path=source) from None
    except yaml.YAMLError as exc:
        # an unclosed bracket is detected at the end of the file; its opening line is the useful one
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        context = getattr(exc, "context", None)
        message = f"{problem} ({context})" if context else str(problem)
        raise SpecError(message, path=source, line=mark.line + 1 if mark else None) from None


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: Any, key: str | None = None, field: str = "") -> SpecError:
        line = None
        if isinstance(node, _Mapping):
            line = node.lines.get(key, node.line) if key else node.line
        return SpecError(message, path=self.source, line=line, field=field or (key or ""))

    def reject_unknown(self, node: Any, allowed: Collection[str], prefix: str) -> None:
        """Refuse the first field (in sorted order) that `allowed` does not list, naming it under `prefix`."""
        unknown = set(node) - set(allowed)
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail("unknown field", node, key, prefix + key)

    def mapping(self, node: Any, field: str, parent: Any = None, key: str | None = None) -> _Mapping:
        if not isinstance(node, _Mapping):
            raise self.fail("must be a mapping", parent if parent is not None else node, key, field)
        return node

    def spec(self, document: Any) -> Spec:
        if document is None:
            raise SpecError("the spec is empty", path=self.source, line=1)
        root = self.mapping(document, "(document)")
        version = root.get("apiVersion")
        if version != API_VERSION:
            raise self.fail(f"must be {API_VERSION!r}, got {version!r}", root, "apiVersion", "apiVersion")
        self.reject_unknown(root, ROOT_FIELDS, "")
        defaults = root.get("defaults") or _Mapping()
        defaults = self.mapping(defaults, "defaults", root, "defaults")
        default_window = defaults.get("window", conventions.DEFAULT_SLO_WINDOW)
        slo_nodes = root.get("slos")
        if not isinstance(slo_nodes, list) or not slo_nodes:
            raise self.fail("must be a non-empty list", root, "slos", "slos")
        slos = [self.slo(node, index, default_window, root) for index, node in enumerate(slo_nodes)]
        names: set[str] = set()
        for slo in slos:
            if slo.name in names:
                raise SpecError("duplicate SLO name", path=self.source, line=slo.line, field=slo.name)
            names.add(slo.name)
        latency_nodes = root.get("latency") or []
        if not isinstance(latency_nodes, list):
            raise self.fail("must be a list", root, "latency", "latency")
        latency_slos = {slo.name for slo in slos if slo.kind == "latency"}
        latency = tuple(self.latency(node, index, latency_slos, root) for index, node in enumerate(latency_nodes))
        sketch_names: set[str] = set()
        for index, sketch in enumerate(latency):
            if sketch.name in sketch_names:
                raise self.fail("duplicate sketch name", latency_nodes[index], "name", f"latency[{index}].name")
            sketch_names.add(sketch.name)
        self.reject_unknown(defaults, {"window", "max_runtime", "trace_ttl_days"}, "defaults.")
        max_runtime = self.duration(defaults, "max_runtime", conventions.DEFAULT_MAX_RUNTIME, "defaults")
        ttl = defaults.get("trace_ttl_days", conventions.DEFAULT_TRACE_TTL_DAYS)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TRACE_TTL_DAYS:
            raise self.fail(f"must be an integer from 1 to {MAX_TRACE_TTL_DAYS} (days)", defaults, "trace_ttl_days",
                            "defaults.trace_ttl_days")
        journey = None
        if root.get("journey") is not None:
            journey = self.journey(self.mapping(root["journey"], "journey", root, "journey"), max_runtime)
        declared = self.names_list(root, "vocabulary")
        metrics, counters = self.metrics(root, slos, latency)
        matchers = (*_spec_matchers(slos, latency), *_counter_matchers(counters))
        used = [action for matcher in matchers for action in sorted(matcher.actions)]
        vocabulary = tuple(dict.fromkeys((*(journey.tracked if journey else ()), *declared, *used)))
        return Spec(
            slos=tuple(slos),
            latency=latency,
            trace_ttl_days=ttl,
            targets=self.targets(root),
            log_format=self.log_format(root),
            routes=self.routes(root),
            trace_metadata=self.traces(root),
            journey=journey,
            metrics=metrics,
            counters=counters,
            vocabulary=vocabulary,
            default_max_runtime=max_runtime,
            source=self.source,
            extras={"declared_vocabulary": tuple(declared)},
        )

    def names_list(self, node: _Mapping, key: str, prefix: str = "") -> list[str]:
        raw = node.get(key, [])
        field = f"{prefix}{key}"
        if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
            raise self.fail("must be a list of non-empty strings", node, key, field)
        if len(set(raw)) != len(raw):
            raise self.fail("lists a name twice", node, key, field)
        return list(raw)

    def journey(self, node: _Mapping, default_max_runtime: int) -> Journey:
        self.reject_unknown(node, JOURNEY_FIELDS, "journey.")
        milestones = self.names_list(node, "milestones", "journey.")
        if len(milestones) < 2:
            raise self.fail("must list at least two milestones, in order", node, "milestones", "journey.milestones")
        resolution_nodes = node.get("resolutions")
        if not isinstance(resolution_nodes, list) or not resolution_nodes:
            raise self.fail("must be a non-empty list", node, "resolutions", "journey.resolutions")
        resolutions = [self.resolution(item, index, node) for index, item in enumerate(resolution_nodes)]
        if len({r.name for r in resolutions}) != len(resolutions):
            raise self.fail("resolution names must be unique", node, "resolutions", "journey.resolutions")
        if sum(r.sweep for r in resolutions) > 1:
            raise self.fail("at most one resolution may be the sweep's", node, "resolutions", "journey.resolutions")
        known = set(milestones) | {r.action for r in resolutions}
        opens = node.get("opens")
        if opens not in milestones:
            raise self.fail("must name one of the milestones", node, "opens", "journey.opens")
        phases = []
        phase_nodes = node.get("phases", [])
        if not isinstance(phase_nodes, list):
            raise self.fail("must be a list", node, "phases", "journey.phases")
        for index, item in enumerate(phase_nodes):
            at = f"journey.phases[{index}]"
            body = self.mapping(item, at, node, "phases")
            self.reject_unknown(body, {"name", "from", "to", "summary"}, f"{at}.")
            name = body.get("name")
            if not isinstance(name, str) or not name or name == "total":
                raise self.fail("must be a non-empty string other than 'total'", body, "name", f"{at}.name")
            for key in ("from", "to"):
                if not _is_one_of(body.get(key), known):
                    raise self.fail("must name a milestone or a resolution action", body, key, f"{at}.{key}")
            summary = body.get("summary", True)
            if not isinstance(summary, bool):
                raise self.fail("must be true or false", body, "summary", f"{at}.summary")
            phases.append(Phase(name, body["from"], body["to"], summary))
        if len({p.name for p in phases}) != len(phases) or len({p.end for p in phases}) != len(phases):
            raise self.fail("phase names and their `to` milestones must be unique", node, "phases", "journey.phases")
        fields = self.mapping(node.get("fields", _Mapping()), "journey.fields", node, "fields")
        self.reject_unknown(fields, {"workflow", "repository"}, "journey.fields.")
        for key in ("workflow", "repository"):
            if key in fields and (not isinstance(fields[key], str) or not fields[key]):
                raise self.fail("must be a field name", fields, key, f"journey.fields.{key}")
        services = self.mapping(node.get("services", _Mapping()), "journey.services", node, "services")
        for key, value in services.items():
            if key not in known or not isinstance(value, str) or not value:
                raise self.fail("maps a milestone to a service name", services, key, f"journey.services.{key}")
        max_runtime = default_max_runtime
        if "max_runtime" in node:
            max_runtime = self.duration(node, "max_runtime", "", "journey")
        name = node.get("name", "unit")
        if not isinstance(name, str) or not name:
            raise self.fail("must be a non-empty string", node, "name", "journey.name")
        return Journey(
            milestones=tuple(milestones),
            opens=opens,
            resolutions=tuple(resolutions),
            phases=tuple(phases),
            max_runtime=max_runtime,
            name=name,
            workflow_field=_field_path(fields["workflow"]) if "workflow" in fields else None,
            repository_field=_field_path(fields["repository"]) if "repository" in fields else None,
            services=tuple((str(k), str(v)) for k, v in services.items()),
        )

    def resolution(self, node: Any, index: int, parent: _Mapping) -> Resolution:
        at = f"journey.resolutions[{index}]"
        body = self.mapping(node, at, parent, "resolutions")
        self.reject_unknown(body, {"name", "action", "sweep", "outcome", "error"}, f"{at}.")
        for key in ("name", "action"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise self.fail("must be a non-empty string", body, key, f"{at}.{key}")
        sweep = body.get("sweep", False)
        if not isinstance(sweep, bool):
            raise self.fail("must be true or false", body, "sweep", f"{at}.sweep")
        outcome = body.get("outcome")
        if outcome is not None and (not isinstance(outcome, str) or not outcome):
            raise self.fail("must be a field name", body, "outcome", f"{at}.outcome")
        error = body.get("error", "")
        if not isinstance(error, str):
            raise self.fail("must be a string", body, "error", f"{at}.error")
        return Resolution(
            name=body["name"],
            action=body["action"],
            sweep=sweep,
            outcome_field=_field_path(outcome) if outcome else None,
            error=error,
        )

    def metrics(
        self, root: _Mapping, slos: list[Slo], latency: tuple[LatencySketch, ...]
    ) -> tuple[tuple[OperatorMetric, ...], tuple[Slo, ...]]:
        nodes = root.get("metrics", [])
        if not isinstance(nodes, list):
            raise self.fail("must be a list", root, "metrics", "metrics")
        metrics: list[OperatorMetric] = []
        counters: dict[Hashable, Slo] = {}  # by _sli_key: a dict, as a list scan was quadratic in the metrics
        slo_names = {slo.name: slo for slo in slos}
        sketch_names = {sketch.name for sketch in latency}
        metric_names: set[str] = set()
        counter_names: set[str] = set()
        for index, item in enumerate(nodes):
            at = f"metrics[{index}]"
            body = self.mapping(item, at, root, "metrics")
            self.reject_unknown(body, {"name", "kind", "source", "unit", "of", "per_hour", "capacity"}, f"{at}.")
            name = body.get("name")
            if not _is_metric_name(name):
                raise self.fail(METRIC_NAME_RULE, body, "name", f"{at}.name")
            if name in metric_names:
                raise self.fail("duplicate metric name", body, "name", f"{at}.name")
            metric_names.add(name)
            at = f"metrics[{name}]"
            kind = body.get("kind")
            if not _is_one_of(kind, METRIC_KINDS):
                raise self.fail(f"must be one of {', '.join(METRIC_KINDS)}", body, "kind", f"{at}.kind")
            unit = body.get("unit", METRIC_KINDS[kind])
            if not _is_one_of(unit, cloudwatch_units()):  # EMF refuses any other: the evaluator would fail every minute
                raise self.fail("must be a CloudWatch unit name (e.g. Count, Milliseconds, None)", body, "unit",
                                f"{at}.unit")
            of = body.get("of", "total")
            if of not in ("total", "good", "bad") or (of != "total" and kind not in ("count", "rate", "ratio")):
                raise self.fail("must be total, good or bad (count, rate, ratio)", body, "of", f"{at}.of")
            per_hour = body.get("per_hour", 0.0)
            valid = _is_number(per_hour) and 0 <= per_hour <= MAX_COST_PER_HOUR
            if not valid or ("per_hour" in body) != (kind == "cost"):
                raise self.fail(f"a cost metric needs per_hour, a number from 0 to {MAX_COST_PER_HOUR:,}", body,
                                "per_hour", f"{at}.per_hour")
            capacity = body.get("capacity", 0)
            valid = isinstance(capacity, int) and not isinstance(capacity, bool) and capacity > 0
            if ("capacity" in body or kind == "utilization") and (kind != "utilization" or not valid):
                raise self.fail("a utilization metric needs capacity, an integer > 0", body, "capacity",
                                f"{at}.capacity")
            source = body.get("source")
            counter = sketch = None
            if kind in ("gauge", "utilization"):
                if source != GAUGE_OPEN_UNITS:
                    raise self.fail(f"a gauge reads {GAUGE_OPEN_UNITS}", body, "source", f"{at}.source")
            elif kind == "mttr":
                if source != MTTR_SOURCE:
                    raise self.fail(f"mttr reads {MTTR_SOURCE}", body, "source", f"{at}.source")
            else:
                src = self.mapping(source, f"{at}.source", body, "source")
                if kind in ("latency", "mean", "cost"):
                    if set(src) != {"sketch"} or not _is_one_of(src["sketch"], sketch_names):
                        raise self.fail("must be {sketch: NAME} of a latency sketch", body, "source", f"{at}.source")
                    sketch = str(src["sketch"])
                elif "slo" in src:
                    target = slo_names.get(src["slo"]) if len(src) == 1 and isinstance(src["slo"], str) else None
                    if target is None or target.kind not in ("events", "resolution", "latency", "time_slice"):
                        raise self.fail("must be {slo: NAME} of an SLO in this spec", body, "source", f"{at}.source")
                    counter = target.name
                else:
                    self.reject_unknown(src, {"match", "good", "exclude"}, f"{at}.source.")
                    match = self.matcher(src, "match", f"{at}.source")
                    good = self.matcher(src, "good", f"{at}.source") if "good" in src else match
                    exclude = self.matcher(src, "exclude", f"{at}.source") if "exclude" in src else None
                    sli = EventsSli(match=match, good=good, exclude=exclude)
                    existing = counters.get(_sli_key(sli))
                    if existing is None:
                        existing = Slo(name=f"_{_kebab(name)}", objective=0.5, sli=sli, window=30 * conventions.DAY)
                        if existing.name in counter_names or existing.name in slo_names:  # one series, two sources
                            raise self.fail(f"its counter series {existing.name!r} already counts another source; "
                                            "rename the metric", body, "name", f"{at}.name")
                        counters[_sli_key(sli)] = existing
                        counter_names.add(existing.name)
                    counter = existing.name
            metrics.append(
                OperatorMetric(
                    name=name,
                    kind=cast(MetricKind, kind),
                    unit=unit,
                    counter=counter,
                    of=of,
                    sketch=sketch,
                    per_hour=float(per_hour),
                    capacity=capacity,
                    line=body.line,
                )
            )
        return tuple(metrics), tuple(counters.values())

    def routes(self, root: _Mapping) -> dict[str, tuple[str, ...]]:
        """`routes: {page: [pagerduty, sns], ticket: [slack, sns]}`; SNS alone for a severity not given."""
        node = root.get("routes")
        routes = dict(DEFAULT_ROUTES)
        if node is None:
            return routes
        node = self.mapping(node, "routes", root, "routes")
        for severity, names in node.items():
            if severity not in DEFAULT_ROUTES:
                raise self.fail("must be page or ticket", node, severity, f"routes.{severity}")
            if not isinstance(names, list) or not names or not all(name in ROUTE_NAMES for name in names):
                raise self.fail(f"must be a non-empty list of {', '.join(ROUTE_NAMES)}", node, severity,
                                f"routes.{severity}")
            routes[severity] = tuple(dict.fromkeys(names))
        return routes

    def targets(self, root: _Mapping) -> Targets:
        """`targets:` (all optional): ratios in [0, 1] and an MTTR duration; the product spec's values by default."""
        node = root.get("targets")
        if node is None:
            return Targets()
        node = self.mapping(node, "targets", root, "targets")
        self.reject_unknown(node, {"compliance_time", "budget_use", "mttr", "trace_coverage"}, "targets.")
        ratios: dict[str, float] = {}
        for key in ("compliance_time", "budget_use", "trace_coverage"):
            value = node.get(key, getattr(Targets, key))
            if not _is_number(value) or not 0 <= value <= 1:
                raise self.fail("must be a ratio in [0, 1] (0.99, not 99)", node, key, f"targets.{key}")
            ratios[key] = float(value)
        mttr = self.duration(node, "mttr", format_duration(Targets.mttr), "targets")
        return Targets(mttr=mttr, **ratios)

    def traces(self, root: _Mapping) -> tuple[str, ...]:
        """The optional `traces` section: `metadata`, the keys of an event's metadata its trace keeps (beyond the
        engine's own and the journey's fields and outcomes). A secret-looking key is refused: never stored."""
        if root.get("traces") is None:
            return ()
        body = self.mapping(root["traces"], "traces", root, "traces")
        self.reject_unknown(body, {"metadata"}, "traces.")
        keys = self.names_list(body, "metadata", "traces.")
        if len(keys) > MAX_TRACE_METADATA_KEYS:
            raise self.fail(f"lists more than {MAX_TRACE_METADATA_KEYS} keys", body, "metadata", "traces.metadata")
        for key in keys:
            if len(key) > MAX_METADATA_KEY_LENGTH or not key.isprintable():
                raise self.fail(f"a key of at most {MAX_METADATA_KEY_LENGTH} printable characters expected, got "
                                f"{key[:40]!r}", body, "metadata", "traces.metadata")
            if conventions.is_secret_key(key):
                raise self.fail(f"{key!r} looks like a secret's key: its values are never stored", body, "metadata",
                                "traces.metadata")
        return tuple(keys)

    def log_format(self, root: _Mapping) -> LogFormat:
        """The optional `log_format` section: where fields live, what to unwrap, how strictly to validate."""
        if root.get("log_format") is None:
            return LogFormat()
        body = self.mapping(root["log_format"], "log_format", root, "log_format")
        self.reject_unknown(body, {"validation", "unwrap", "fields", "access_log"}, "log_format.")
        default = LogFormat()
        validation = body.get("validation", default.validation)
        if validation not in VALIDATION_MODES:
            modes = ", ".join(VALIDATION_MODES)
            raise self.fail(f"must be one of {modes}", body, "validation", "log_format.validation")
        unwrap = self.paths(body, "unwrap", "log_format", default.unwrap, allow_empty=True)
        paths: dict[str, tuple[str, ...]] = {}
        if body.get("fields") is not None:
            fields = self.mapping(body["fields"], "log_format.fields", body, "fields")
            unknown = set(fields) - set(LOG_FORMAT_FIELDS)
            if unknown:
                key = sorted(unknown)[0]
                raise self.fail(f"unknown field (one of {', '.join(LOG_FORMAT_FIELDS)})", fields, key,
                                f"log_format.fields.{key}")
            for name in LOG_FORMAT_FIELDS:
                if name in fields:
                    paths[name] = self.paths(fields, name, "log_format.fields", ())
        access_log = self.access_log(body)
        return LogFormat(**paths, unwrap=unwrap, access_log=access_log, validation=validation)

    def access_log(self, body: _Mapping) -> AccessLogRule | None:
        if "access_log" not in body:
            return AccessLogRule()
        raw = body["access_log"]
        if raw is False or raw is None:
            return None
        node = self.mapping(raw, "log_format.access_log", body, "access_log")
        at = "log_format.access_log"
        self.reject_unknown(node, {"detect", "action", "numbers", "duration"}, f"{at}.")
        default = AccessLogRule()
        action = node.get("action", default.action)
        duration = node.get("duration", default.duration)
        for key, value in (("action", action), ("duration", duration)):
            if not isinstance(value, str) or not value:
                raise self.fail("must be a non-empty string", node, key, f"{at}.{key}")
        return AccessLogRule(
            detect=self.paths(node, "detect", at, default.detect),
            action=action,
            numbers=self.paths(node, "numbers", at, default.numbers, allow_empty=True),
            duration=duration,
        )

    def paths(
        self, node: _Mapping, key: str, at: str, default: tuple[str, ...], allow_empty: bool = False
    ) -> tuple[str, ...]:
        """A field path or a list of them (dotted: `requestContext.requestId`), in the order they are tried."""
        if key not in node:
            return default
        raw = node[key]
        values = [raw] if isinstance(raw, str) else raw
        valid = isinstance(values, list) and all(
            isinstance(v, str) and v and all(part for part in v.split(".")) for v in values
        )
        if not valid or (not values and not allow_empty):
            raise self.fail("must be a dotted field path or a list of them", node, key, f"{at}.{key}")
        return tuple(values)

    def duration(self, node: _Mapping, key: str, default: str, prefix: str) -> int:
        raw = node.get(key, default)
        seconds = parse_duration(raw)
        if seconds is None:
            raise self.fail(f"not a duration: {raw!r} (e.g. 5m, 1h, 30d)", node, key, f"{prefix}.{key}")
        if seconds > MAX_WINDOW_SECONDS:
            raise self.fail("longer than 400d", node, key, f"{prefix}.{key}")
        return seconds

    def slo(self, node: Any, index: int, default_window: Any, root: _Mapping) -> Slo:
        where = f"slos[{index}]"
        if not isinstance(node, _Mapping):
            raise self.fail("must be a mapping", root, "slos", where)
        self.reject_unknown(node, TOP_LEVEL_FIELDS, f"{where}.")
        name = node.get("name")
        if not _is_name(name) or not name.strip():
            raise self.fail(NAME_RULE, node, "name", f"{where}.name")
        where = f"slos[{name}]"
        objective = node.get("objective")
        if not _is_number(objective) or not 0 < objective < 1:
            raise self.fail(
                f"must be a ratio strictly between 0 and 1 (e.g. 0.999), got {objective!r}",
                node,
                "objective",
                f"{where}.objective",
            )
        window_raw = node.get("window", default_window)
        calendar_month = window_raw == "calendar-month"
        window = 30 * conventions.DAY if calendar_month else parse_duration(window_raw)
        if window is None:
            raise self.fail(
                f"not a window: {window_raw!r} (e.g. 30d or calendar-month)", node, "window", f"{where}.window"
            )
        if window > MAX_WINDOW_SECONDS:
            raise self.fail("longer than 400d", node, "window", f"{where}.window")
        for text_key in ("description", "runbook"):
            if not isinstance(node.get(text_key, ""), str):
                raise self.fail("must be a string", node, text_key, f"{where}.{text_key}")
        sli_node = self.mapping(node.get("sli"), f"{where}.sli", node, "sli")
        sli = self.sli(sli_node, where)
        alerting = self.alerting(node.get("alerting"), node, where, window)
        group_by = self.group_by(node, where, sli)
        return Slo(
            name=name,
            objective=float(objective),
            sli=sli,
            window=window,
            calendar_month=calendar_month,
            description=str(node.get("description", "")),
            runbook=str(node.get("runbook", "")),
            alerting=alerting,
            line=node.line,
            metric=self.metric_name(node, where),
            group_by=group_by,
            group_paths=tuple(_field_path(name) for name in group_by),
            group_limit=self.group_limit(node, where, group_by),
        )

    def group_by(self, node: _Mapping, where: str, sli: Sli) -> tuple[str, ...]:
        """`group_by: [repository]`: event fields, in the matchers' syntax (a bare name is a metadata field)."""
        if "group_by" not in node:
            return ()
        raw = node["group_by"]
        field = f"{where}.group_by"
        if not isinstance(raw, list) or not raw:
            raise self.fail("must be a non-empty list of event fields (e.g. [repository])", node, "group_by", field)
        if len(raw) > conventions.MAX_GROUP_FIELDS:
            raise self.fail(f"lists more than {conventions.MAX_GROUP_FIELDS} fields", node, "group_by", field)
        for name in raw:
            if not isinstance(name, str) or not all(_is_field_part(part) for part in name.split(".")):
                raise self.fail(f"not an event field: {name!r} (e.g. repository or metadata.org)", node,
                                "group_by", field)
            if _field_path(name) in {_field_path(other) for other in raw[: raw.index(name)]}:
                raise self.fail(f"names the field {name!r} twice", node, "group_by", field)
            if _field_path(name) == ACTION_PATH or name in ("timestamp", "correlationId", "message"):
                raise self.fail(f"{name!r} can't group an SLO (one series per value)", node, "group_by", field)
        if not isinstance(sli, EventsSli):
            raise self.fail(f"needs an events SLI (this SLO's is {sli.kind})", node, "group_by", field)
        return tuple(raw)

    def group_limit(self, node: _Mapping, where: str, group_by: tuple[str, ...]) -> int:
        if "group_limit" not in node:
            return conventions.DEFAULT_GROUP_LIMIT
        field = f"{where}.group_limit"
        if not group_by:
            raise self.fail("needs group_by", node, "group_limit", field)
        limit = node["group_limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= conventions.MAX_GROUP_LIMIT:
            raise self.fail(f"must be an integer from 1 to {conventions.MAX_GROUP_LIMIT}", node, "group_limit", field)
        return limit

    def metric_name(self, node: _Mapping, where: str) -> str:
        metric = node.get("metric", "")
        if metric != "" and not _is_metric_name(metric):
            raise self.fail(METRIC_NAME_RULE, node, "metric", f"{where}.metric")
        return metric

    def sli(self, node: _Mapping, where: str) -> Sli:
        kinds = [key for key in node if key in {"events", "time_slice", "resolution", "latency"}]
        if len(node) != 1 or len(kinds) != 1:
            raise self.fail(
                "must have exactly one of events, time_slice, resolution, latency", node, None, f"{where}.sli"
            )
        kind = kinds[0]
        body = self.mapping(node[kind], f"{where}.sli.{kind}", node, kind)
        at = f"{where}.sli.{kind}"
        allowed = {
            "events": {"match", "good", "bad", "exclude"},
            "time_slice": {"slice", "min_ratio", "good", "bad"},
            "resolution": {"good", "bad"},
            "latency": {"start", "end", "threshold_ms"},
        }[kind]
        self.reject_unknown(body, allowed, f"{at}.")
        if kind == "events":
            exclude = body.get("exclude")
            if ("good" in body) == ("bad" in body):
                raise self.fail("give exactly one of good or bad", body, None, f"{at}.good")
            return EventsSli(
                match=self.matcher(body, "match", at),
                good=self.matcher(body, "good", at) if "good" in body else None,
                bad=self.matcher(body, "bad", at) if "bad" in body else None,
                exclude=self.matcher(body, "exclude", at) if exclude is not None else None,
            )
        if kind == "time_slice":
            ratio = body.get("min_ratio", 0.6)
            if not _is_number(ratio) or not 0 < ratio <= 1:
                raise self.fail("must be a ratio in (0, 1]", body, "min_ratio", f"{at}.min_ratio")
            slice_seconds = self.duration(body, "slice", "5m", at)
            if conventions.HOUR % slice_seconds:
                raise self.fail("must divide an hour (e.g. 1m, 5m, 15m)", body, "slice", f"{at}.slice")
            return TimeSliceSli(
                good=self.matcher(body, "good", at),
                bad=self.matcher(body, "bad", at),
                slice_seconds=slice_seconds,
                min_ratio=float(ratio),
            )
        if kind == "resolution":
            return ResolutionSli(good=self.matcher(body, "good", at), bad=self.matcher(body, "bad", at))
        threshold = body.get("threshold_ms")
        if not _is_number(threshold) or threshold <= 0:
            raise self.fail("must be a number of milliseconds > 0", body, "threshold_ms", f"{at}.threshold_ms")
        return LatencySli(
            start=self.matcher(body, "start", at),
            end=self.matcher(body, "end", at),
            threshold_ms=float(threshold),
        )

    def matcher(self, parent: _Mapping, key: str, at: str) -> Matcher:
        node = parent.get(key)
        field = f"{at}.{key}"
        if not isinstance(node, _Mapping) or not node:
            raise self.fail("must be a non-empty mapping of field conditions", parent, key, field)
        conditions = []
        for name, expected in node.items():
            path, line = _field_path(name), getattr(node, "lines", {}).get(name)
            if isinstance(expected, _Mapping):
                if len(expected) != 1 or next(iter(expected)) not in COMPARISONS:
                    raise self.fail(
                        f"a condition is a value or one of {{{', '.join(sorted(COMPARISONS))}: …}}",
                        node,
                        name,
                        f"{field}.{name}",
                    )
                op, value = next(iter(expected.items()))
                if op in {"in", "not_in"} and not isinstance(value, list):
                    raise self.fail(f"{op} takes a list", node, name, f"{field}.{name}")
                if op in {"in", "not_in"} and not all(isinstance(v, _SCALAR_VALUES) for v in value):
                    # matchers compare logged scalars, and an action's values index the dispatch (hashed)
                    raise self.fail(f"{op} takes a list of strings, numbers, booleans or nulls", node, name,
                                    f"{field}.{name}")
                if op in {"lt", "le", "gt", "ge"} and not _is_number(value):
                    raise self.fail(f"{op} takes a number", node, name, f"{field}.{name}")
                if path == ACTION_PATH and (op not in {"in", "not_in"} or not all(map(_is_action, value))):
                    raise self.fail(_NOT_AN_ACTION, node, name, f"{field}.{name}")
                conditions.append(Condition(path, cast(Comparison, op), value, line))
            elif isinstance(expected, list):
                raise self.fail("use {in: [...]} for a list of values", node, name, f"{field}.{name}")
            elif path == ACTION_PATH and not _is_action(expected):
                raise self.fail(_NOT_AN_ACTION, node, name, f"{field}.{name}")
            else:
                conditions.append(Condition(path, "eq", expected, line))
        return Matcher(tuple(conditions))

    def alerting(self, node: Any, slo_node: _Mapping, where: str, window: int) -> AlertPolicy:
        tiers = default_tiers(window)
        if node is None:
            return AlertPolicy(tiers=tiers)
        body = self.mapping(node, f"{where}.alerting", slo_node, "alerting")
        at = f"{where}.alerting"
        self.reject_unknown(
            body, {"tiers", "min_bad_events", "no_data", "budget_alerts", "cool_off", "budget_min_events"}, f"{at}."
        )
        min_bad = body.get("min_bad_events", 5)
        if not isinstance(min_bad, int) or isinstance(min_bad, bool) or min_bad < 0:
            raise self.fail("must be an integer ≥ 0", body, "min_bad_events", f"{at}.min_bad_events")
        budget_min = body.get("budget_min_events", 100)
        if not isinstance(budget_min, int) or isinstance(budget_min, bool) or budget_min < 0:
            raise self.fail("must be an integer ≥ 0", body, "budget_min_events", f"{at}.budget_min_events")
        no_data = None
        if body.get("no_data") is not None:
            no_data = self.duration(body, "no_data", "", at)
        if "tiers" in body:
            tier_nodes = body["tiers"]
            if not isinstance(tier_nodes, list) or not tier_nodes:
                raise self.fail("must be a non-empty list", body, "tiers", f"{at}.tiers")
            tiers = tuple(self.tier(t, i, body, at, window) for i, t in enumerate(tier_nodes))
        thresholds = AlertPolicy(tiers=()).budget_thresholds
        if "budget_alerts" in body:
            raw = self.mapping(body["budget_alerts"], f"{at}.budget_alerts", body, "budget_alerts")
            parsed = []
            for severity, value in raw.items():
                if severity not in {"warning", "critical", "exhausted"}:
                    raise self.fail("must be warning, critical or exhausted", raw, severity, severity)
                if not _is_number(value) or value <= 0:
                    raise self.fail("must be a consumed-budget ratio > 0", raw, severity, severity)
                parsed.append((severity, float(value)))
            thresholds = tuple(sorted(parsed, key=lambda item: item[1]))
        cool_off = conventions.HOUR
        if body.get("cool_off") is not None:
            cool_off = self.duration(body, "cool_off", "", at)
        return AlertPolicy(
            tiers=tiers,
            min_bad_events=min_bad,
            budget_thresholds=thresholds,
            no_data_after=no_data,
            budget_min_events=budget_min,
            cool_off=cool_off,
        )

    def tier(self, node: Any, index: int, parent: _Mapping, at: str, window: int) -> BurnRateTier:
        field = f"{at}.tiers[{index}]"
        body = self.mapping(node, field, parent, "tiers")
        return tier_from_mapping(body, window, lambda message, key: self.fail(message, body, key, f"{field}.{key}"))

    def latency(self, node: Any, index: int, latency_slos: Collection[str], root: _Mapping) -> LatencySketch:
        field = f"latency[{index}]"
        body = self.mapping(node, field, root, "latency")
        name = body.get("name")
        if not _is_name(name):
            raise self.fail(NAME_RULE, body, "name", f"{field}.name")
        stitched = body.get("stitched")
        if stitched is not None:
            if not _is_one_of(stitched, latency_slos):
                raise self.fail("must name a latency SLO", body, "stitched", f"{field}.stitched")
            return LatencySketch(name=name, stitched=stitched, line=body.line)
        if "start" in body or "end" in body:
            return LatencySketch(
                name=name,
                start=self.matcher(body, "start", field),
                end=self.matcher(body, "end", field),
                line=body.line,
            )
        value = body.get("value", "duration")
        if not isinstance(value, str):
            raise self.fail("must be a field name", body, "value", f"{field}.value")
        return LatencySketch(
            name=name, match=self.matcher(body, "match", field), value_path=_field_path(value), line=body.line
        )


def tier_from_mapping(body: dict[str, Any], period: int, fail: Any) -> BurnRateTier:
    """A tier from {severity, long, short, factor | budget_percent}; budget_percent is Sloth's form."""
    severity = body.get("severity")
    if severity not in {"page", "ticket"}:
        raise fail("must be page or ticket", "severity")
    long_window = parse_duration(body.get("long"))
    short_window = parse_duration(body.get("short"))
    if long_window is None:
        raise fail("not a duration", "long")
    if long_window > MAX_WINDOW_SECONDS:
        raise fail("longer than 400d", "long")
    if short_window is None or short_window >= long_window:
        raise fail("must be a duration shorter than long", "short")
    if ("factor" in body) == ("budget_percent" in body):
        raise fail("give exactly one of factor or budget_percent", "factor")
    if "factor" in body:
        factor = body["factor"]
        if not _is_number(factor) or factor <= 0:
            raise fail("must be a number > 0", "factor")
    else:
        percent = body["budget_percent"]
        if not _is_number(percent) or not 0 < percent <= 100:
            raise fail("must be a percentage in (0, 100]", "budget_percent")
        factor = burn_rate_factor(percent, long_window, period)
    hold = None
    if body.get("keep_firing_for") is not None:
        raw = body["keep_firing_for"]
        hold = 0 if raw in (0, "0", "0s", "0m") else parse_duration(raw)  # 0 turns the hold off
        if hold is None or hold > long_window:
            raise fail("must be a duration no longer than long", "keep_firing_for")
    clear_ratio = body.get("clear_ratio", 0.5)
    if not _is_number(clear_ratio) or not 0 < clear_ratio <= 1:
        raise fail("must be a ratio in (0, 1]", "clear_ratio")
    return BurnRateTier(
        severity=severity,
        long_window=long_window,
        short_window=short_window,
        factor=float(factor),
        keep_firing_for=hold,
        clear_ratio=float(clear_ratio),
    )


def burn_rate_factor(budget_percent: float, long_window: int, period: int) -> float:
    """Spending budget_percent of the budget within long_window burns at this multiple of the steady pace."""
    return round(budget_percent / 100 * period / long_window, 6)


@cache  # read and parsed once per period, not once per SLO: that was 3/4 of validating 6,000 SLOs
def default_tiers(period: int = 30 * conventions.DAY) -> tuple[BurnRateTier, ...]:
    """The Workbook's four tiers (burn_rate_windows.yaml), scaled to the SLO's period."""
    text = resources.files("processors.spec").joinpath("burn_rate_windows.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)

    def fail(message: str, key: str) -> SpecError:
        return SpecError(message, path="burn_rate_windows.yaml", field=key)

    return tuple(tier_from_mapping(tier, period, fail) for tier in data["tiers"])


def _spec_matchers(slos: list[Slo], latency: tuple[LatencySketch, ...]) -> list[Matcher]:
    """Every matcher of the SLOs and sketches, in spec order."""
    found = [matcher for slo in slos for matcher in _sli_matchers(slo.sli)]
    for sketch in latency:
        found.extend(m for m in (sketch.match, sketch.start, sketch.end) if m is not None)
    return found


def _sli_matchers(sli: Any) -> list[Matcher]:
    names = ("match", "good", "bad", "exclude", "start", "end")
    return [m for m in (getattr(sli, name, None) for name in names) if isinstance(m, Matcher)]


def _counter_matchers(counters: tuple[Slo, ...]) -> list[Matcher]:
    return [m for c in counters for m in _sli_matchers(c.sli)]


def _is_name(name: Any) -> TypeGuard[str]:
    """An SLO or sketch name: it goes into store keys and is printed on terminals (no newline or escape)."""
    return isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH and not has_control_characters(name)


def _kebab(name: str) -> str:
    """RunnersStarted -> runners-started."""
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("-")
        out.append(char.lower())
    return "".join(out).replace("_", "-")


def _field_path(name: str) -> tuple[str, ...]:
    if name == "action":
        return ACTION_PATH
    parts = tuple(name.split("."))
    if parts[0] in LOG_TOP_LEVEL_FIELDS or parts[0] == "metadata":
        return parts
    return ("metadata", *parts)


def _is_one_of(value: Any, names: Collection[str]) -> TypeGuard[str]:
    """`value in names` for a value read from the spec: a list or a mapping there names nothing (and cannot be
    hashed, so the lookup itself raised TypeError)."""
    return isinstance(value, str) and value in names


def _is_action(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_field_part(part: str) -> bool:
    """One dotted part of an event field name: letters, digits, `_` and `-`, not starting with a digit."""
    return bool(part) and not part[0].isdigit() and all(c.isalnum() or c in "_-" for c in part) and part.isascii()


def _sli_key(sli: EventsSli) -> Hashable:
    """A hashable stand-in for an events SLI, equal exactly when the SLIs are (a condition's list becomes a tuple)."""
    return tuple(
        None if matcher is None else tuple((c.path, c.op, _hashable(c.value)) for c in matcher.conditions)
        for matcher in (sli.match, sli.good, sli.exclude, sli.bad)
    )


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, set):  # `!!set` as an equality value
        return frozenset(_hashable(item) for item in value)
    return cast(Hashable, value)


def _is_metric_name(name: Any) -> TypeGuard[str]:
    return isinstance(name, str) and name.isidentifier() and len(name) <= MAX_METRIC_NAME_LENGTH


@cache
def cloudwatch_units() -> frozenset[str]:
    """The unit names CloudWatch accepts (Powertools' MetricUnit, as processors.metrics.emf checks them)."""
    from aws_lambda_powertools.metrics import MetricUnit

    return frozenset(unit.value for unit in MetricUnit)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
