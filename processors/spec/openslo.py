"""OpenSLO v1 in and out: documents of kind SLO, SLI, AlertPolicy, AlertCondition, Service (and DataSource,
AlertNotificationTarget) mapped onto this product's native spec, and the compiled spec written back as OpenSLO.

Import builds the native document (the same mappings the YAML loader makes, with their lines) and hands it
to the native reader, so every check and file:line error is shared. A field that can't be mapped is refused
with one line that names it. docs/openslo.md describes the mapping:

* a metric source is `metricSource: {type: slo-pipeline, spec: QUERY}` (or a `metricSourceRef` to a
  DataSource of that type); QUERY is a log matcher in this product's syntax: `{match: M, exclude?: X}`,
  `{any: [A, B]}` (either matcher: a time slice's good or bad lookups) or `{first: [GOOD, BAD]}` (a
  correlation ID's first resolution); `thresholdMetric`'s QUERY is `{start: M, end: M}` (a stitched latency);
* Occurrences + ratioMetric good/total or bad/total → an events SLI (total {first: …} → a resolution SLI);
  Timeslices + good/total → a time-slice SLI (timeSliceTarget → min_ratio, timeSliceWindow → slice);
  thresholdMetric + objective `op: lte, value: MS` → a latency SLI;
* an alert policy's burn-rate condition → a tier (severity page | ticket, threshold → factor, lookbackWindow →
  long window; the short window is the annotation `slo-pipeline.dev/short-window`, else long / 12);
* what OpenSLO has no field for (the journey, vocabulary, sketches, operator metrics, defaults, traces) travels as
  YAML in the annotation `slo-pipeline.dev/spec` of the Service; an SLO's runbook, headline metric and alert
  settings in its annotations.
"""

from __future__ import annotations

from typing import Any

import yaml

from processors.spec.exceptions import SpecError
from processors.spec.loader import MAX_NUMBER_CHARS, literal_block_line, load_yaml_documents
from processors.spec.model import (
    Condition,
    EventsSli,
    LatencySli,
    LogFormat,
    Matcher,
    ResolutionSli,
    Spec,
    TimeSliceSli,
)
from processors.timeutil import format_duration, parse_duration

OPENSLO_VERSION = "openslo/v1"
SOURCE_TYPE = "slo-pipeline"
PREFIX = "slo-pipeline.dev/"
SPEC_ANNOTATION = f"{PREFIX}spec"
KINDS = {"SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "Service", "DataSource"}
SLO_ANNOTATIONS = {"runbook": "runbook", "metric": "metric"}
ALERT_ANNOTATIONS = {"min-bad-events": "min_bad_events", "no-data": "no_data", "budget-alerts": "budget_alerts"}


def _annotation_int(value: Any) -> Any:
    """An annotation's ASCII digits (annotations are strings) as an int; anything else as given, for the loader
    to refuse in one line (int() raises on `²` and on more than 4300 digits)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_NUMBER_CHARS else value


def _inner(error: SpecError) -> str:
    """An error inside the embedded spec, placed by its line there (the outer file:line is the Service's)."""
    at = f"line {error.line} of it: " if error.line is not None else ""
    return f"{at}{_inner_reason(error)}"


def _inner_reason(error: SpecError) -> str:
    return f"{error.field + ': ' if error.field else ''}{error.reason}"


def is_openslo(documents: list[Any]) -> bool:
    return any(_api_version(document) == OPENSLO_VERSION for document in documents)


def _api_version(document: Any) -> Any:
    if isinstance(document, list):
        return next((_api_version(item) for item in document if isinstance(item, dict)), None)
    return document.get("apiVersion") if isinstance(document, dict) else None


# --- import ----------------------------------------------------------------------------------------------


class _Importer:
    def __init__(self, source: str, mapping_type: type[Any]) -> None:
        self.source = source
        self.mapping_type = mapping_type  # the loader's line-keeping mapping: built nodes carry lines too
        self.objects: dict[tuple[str, str], Any] = {}

    def fail(self, message: str, node: Any, key: str | None, field: str) -> SpecError:
        line = None
        lines = getattr(node, "lines", None)
        if lines is not None:
            line = lines.get(key, node.line) if key else node.line
        return SpecError(message, path=self.source, line=line, field=field)

    def node(self, like: Any, items: dict[str, Any]) -> Any:
        """A native mapping with the lines of `like` (the OpenSLO node it comes from)."""
        built = self.mapping_type(items)
        built.line = getattr(like, "line", 0)
        like_lines = getattr(like, "lines", {})
        built.lines = {key: like_lines.get(key, built.line) for key in items}
        return built

    def get_mapping(self, parent: Any, key: str, field: str, required: bool = True) -> Any:
        value = parent.get(key) if isinstance(parent, dict) else None
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise self.fail("must be a mapping", parent, key, field)
        return value

    def native(self, documents: list[Any]) -> Any:
        flat: list[Any] = []
        for document in documents:
            if document is None:
                continue
            flat.extend(document if isinstance(document, list) else [document])
        slos = []
        extra: Any = None
        for index, document in enumerate(flat):
            where = f"document[{index}]"
            if not isinstance(document, dict):
                raise SpecError("must be a mapping", path=self.source, field=where)
            if document.get("apiVersion") != OPENSLO_VERSION:
                raise self.fail(
                    f"must be {OPENSLO_VERSION!r}, got {document.get('apiVersion')!r}", document, "apiVersion",
                    f"{where}.apiVersion",
                )
            kind = document.get("kind")
            if not isinstance(kind, str) or kind not in KINDS:
                raise self.fail(f"must be one of {', '.join(sorted(KINDS))}", document, "kind", f"{where}.kind")
            name = self.name(document, f"{where}.metadata.name")
            if (kind, name) in self.objects:
                raise self.fail(f"a second {kind} of this name", document, "metadata", f"{kind}[{name}]")
            self.objects[(kind, name)] = document
            if kind == "SLO":
                slos.append(document)
            if kind == "Service":
                annotations = self.annotations(document)
                text = annotations.get(SPEC_ANNOTATION)
                if text is not None:
                    if extra is not None:
                        raise self.fail("only one Service may carry it", document, "metadata", SPEC_ANNOTATION)
                    extra = self.embedded(text, document, annotations)
        if not slos:
            raise SpecError("no document of kind SLO", path=self.source, line=1, field="kind")
        root_items: dict[str, Any] = {"apiVersion": "slo-pipeline/v1", "kind": "SLOSpec"}
        if extra is not None:
            root_items.update(extra)
        root_items["slos"] = [self.slo(document) for document in slos]
        return self.node(slos[0], root_items)

    def name(self, document: Any, field: str) -> str:
        name = self.metadata(document).get("name")
        if not isinstance(name, str) or not name:
            raise self.fail("must be a non-empty string", document, "metadata", field)
        return name

    def metadata(self, document: Any) -> Any:
        metadata = document.get("metadata")
        if not isinstance(metadata, dict):
            raise self.fail("must be a mapping", document, "metadata", "metadata")
        return metadata

    def annotations(self, document: Any) -> Any:
        """The document's metadata.annotations: a mapping, or empty when there are none (or no metadata)."""
        metadata = document.get("metadata")
        if metadata is None:
            return {}
        annotations = self.metadata(document).get("annotations")
        if annotations is None:
            return {}
        if not isinstance(annotations, dict):
            raise self.fail("must be a mapping", metadata, "annotations", "metadata.annotations")
        return annotations

    def embedded(self, text: Any, service: Any, annotations: Any) -> dict[str, Any]:
        """The annotation's YAML, loaded with the same guards as a spec file. In a literal block (`|`, as
        `slo export` writes it) each line is a line of this file, so every error, here or from the native
        reader, names its own line in this file; otherwise an error names the annotation's line in this file
        (and a YAML error the line inside the annotation too)."""
        block_line = literal_block_line(annotations, SPEC_ANNOTATION)
        field = f"Service[{self.name(service, 'metadata.name')}].metadata.annotations.{SPEC_ANNOTATION}"
        if not isinstance(text, str):
            raise self.fail("must be a YAML string", service, "metadata", field)
        try:
            # blank lines ahead of a literal block's text put its lines where they are in this file
            documents = load_yaml_documents("\n" * block_line + text if block_line else text, field)
        except SpecError as exc:
            if block_line:
                raise SpecError(f"not valid YAML: {_inner_reason(exc)}", path=self.source, line=exc.line,
                                field=field) from None
            raise self.fail(f"not valid YAML: {_inner(exc)}", service, "metadata", field) from None
        if not block_line:  # its lines are not this file's: errors name the annotation's line
            self.pin_lines(documents, getattr(annotations, "lines", {}).get(SPEC_ANNOTATION, 0))
        if len(documents) > 1:
            raise self.fail("one YAML document expected", service, "metadata", field)
        data = documents[0] if documents else None
        allowed = {"defaults", "journey", "vocabulary", "latency", "metrics", "targets", "log_format", "traces"}
        if not isinstance(data, dict) or set(data) - allowed:
            raise self.fail(f"must be a mapping of {', '.join(sorted(allowed))}", service, "metadata", field)
        return dict(data)

    def pin_lines(self, node: Any, line: int) -> None:
        """Every line-keeping mapping under `node` placed at `line`."""
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, self.mapping_type):
                item.line = line
                item.lines = dict.fromkeys(item.lines, line)
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def find(self, kind: str, ref: Any) -> Any:
        """The file's object of this kind named `ref`; None for another name, or for a list or a mapping (which
        could not even be looked up: unhashable)."""
        return self.objects.get((kind, ref)) if isinstance(ref, str) else None

    def resolve(self, parent: Any, inline_key: str, ref_key: str, kind: str, field: str) -> Any:
        """An object given inline under `inline_key` or by name under `ref_key`."""
        inline, ref = parent.get(inline_key), parent.get(ref_key)
        if (inline is None) == (ref is None):
            raise self.fail(f"give exactly one of {inline_key} or {ref_key}", parent, inline_key, field)
        if ref is not None:
            found = self.find(kind, ref)
            if found is None:
                raise self.fail(f"no {kind} named {ref!r} in this file", parent, ref_key, f"{field}.{ref_key}")
            return found
        return self.get_mapping(parent, inline_key, f"{field}.{inline_key}")

    def slo(self, document: Any) -> Any:
        name = self.name(document, "metadata.name")
        at = f"SLO[{name}]"
        spec = self.get_mapping(document, "spec", f"{at}.spec")
        unknown = set(spec) - {
            "description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives",
            "alertPolicies",
        }
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail("not mapped onto this product's spec", spec, key, f"{at}.spec.{key}")
        method = spec.get("budgetingMethod", "Occurrences")
        if method not in ("Occurrences", "Timeslices"):
            raise self.fail(
                f"{method!r} can't be mapped (Occurrences or Timeslices)", spec, "budgetingMethod",
                f"{at}.spec.budgetingMethod",
            )
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or len(objectives) != 1 or not isinstance(objectives[0], dict):
            raise self.fail("exactly one objective per SLO can be mapped", spec, "objectives", f"{at}.spec.objectives")
        objective = objectives[0]
        items: dict[str, Any] = {"name": name, "objective": self.target(objective, f"{at}.spec.objectives[0]")}
        if isinstance(spec.get("description"), str):
            items["description"] = spec["description"]
        window = self.window(spec, f"{at}.spec.timeWindow")
        if window is not None:
            items["window"] = window
        indicator = self.resolve(spec, "indicator", "indicatorRef", "SLI", f"{at}.spec")
        items["sli"] = self.sli(indicator, method, objective, f"{at}.spec.indicator")
        annotations = self.annotations(document)
        for annotation, key in SLO_ANNOTATIONS.items():
            if f"{PREFIX}{annotation}" in annotations:
                items[key] = annotations[f"{PREFIX}{annotation}"]
        alerting = self.alerting(spec, annotations, f"{at}.spec.alertPolicies")
        if alerting is not None:
            items["alerting"] = self.node(spec, alerting)
        return self.node(document, items)

    def target(self, objective: Any, field: str) -> Any:
        if ("target" in objective) == ("targetPercent" in objective):
            raise self.fail("give exactly one of target or targetPercent", objective, "target", f"{field}.target")
        if "target" in objective:
            return objective["target"]
        percent = objective["targetPercent"]
        if not isinstance(percent, int | float) or isinstance(percent, bool):
            raise self.fail("must be a number", objective, "targetPercent", f"{field}.targetPercent")
        return round(percent / 100, 12)

    def window(self, spec: Any, field: str) -> str | None:
        windows = spec.get("timeWindow")
        if windows is None:
            return None
        if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
            raise self.fail("must be a list of exactly one time window", spec, "timeWindow", field)
        window = windows[0]
        duration = window.get("duration")
        if "calendar" in window or window.get("isRolling") is False:
            if duration != "1M":
                raise self.fail("only a 1M calendar window (calendar-month, UTC) can be mapped", window,
                                "duration", f"{field}[0].duration")
            return "calendar-month"
        if parse_duration(duration) is None:
            raise self.fail(f"not a rolling duration this product reads: {duration!r} (m, h, d, w)", window,
                            "duration", f"{field}[0].duration")
        return str(duration)

    def query(self, metric: Any, field: str) -> Any:
        """The `spec` of a metric whose source is this product (inline type or a DataSource reference)."""
        if not isinstance(metric, dict):
            raise self.fail("must be a mapping", metric, None, field)
        source = self.get_mapping(metric, "metricSource", f"{field}.metricSource")
        kind = source.get("type")
        ref = source.get("metricSourceRef")
        if ref is not None:
            data_source = self.find("DataSource", ref)
            if data_source is None:
                raise self.fail(f"no DataSource named {ref!r} in this file", source, "metricSourceRef",
                                f"{field}.metricSource.metricSourceRef")
            data_spec = data_source.get("spec")
            kind = kind or (data_spec.get("type") if isinstance(data_spec, dict) else None)
        if kind != SOURCE_TYPE:
            raise self.fail(f"must be {SOURCE_TYPE!r} (this product reads its own logs), got {kind!r}", source,
                            "type", f"{field}.metricSource.type")
        return self.get_mapping(source, "spec", f"{field}.metricSource.spec")

    def sli(self, indicator: Any, method: str, objective: Any, field: str) -> Any:
        spec = self.get_mapping(indicator, "spec", f"{field}.spec")
        at = f"{field}.spec"
        if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
            raise self.fail("give exactly one of ratioMetric or thresholdMetric", spec, "ratioMetric", at)
        if "thresholdMetric" in spec:
            query = self.query(spec["thresholdMetric"], f"{at}.thresholdMetric")
            if set(query) != {"start", "end"}:
                raise self.fail("a threshold query is {start: MATCHER, end: MATCHER} (a stitched latency)", query,
                                None, f"{at}.thresholdMetric.metricSource.spec")
            if method != "Occurrences":
                raise self.fail("a latency SLI counts occurrences", spec, "thresholdMetric", f"{at}.thresholdMetric")
            if objective.get("op") != "lte":
                raise self.fail("only op: lte (good when the latency is at most value) can be mapped", objective,
                                "op", "objectives[0].op")
            body = {"start": query["start"], "end": query["end"], "threshold_ms": objective.get("value")}
            return self.node(spec, {"latency": self.node(query, body)})
        ratio = self.get_mapping(spec, "ratioMetric", f"{at}.ratioMetric")
        unknown = set(ratio) - {"counter", "good", "bad", "total"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail("can't be mapped (give good or bad, with total)", ratio, key, f"{at}.ratioMetric.{key}")
        if ("good" in ratio) == ("bad" in ratio) or "total" not in ratio:
            raise self.fail("give total with exactly one of good or bad", ratio, "total", f"{at}.ratioMetric")
        side = "good" if "good" in ratio else "bad"
        numerator = self.query(ratio[side], f"{at}.ratioMetric.{side}")
        total = self.query(ratio["total"], f"{at}.ratioMetric.total")
        if set(numerator) != {"match"}:
            raise self.fail(f"a {side} query is {{match: MATCHER}}", numerator, None,
                            f"{at}.ratioMetric.{side}.metricSource.spec")
        total_field = f"{at}.ratioMetric.total.metricSource.spec"
        if method == "Timeslices":
            return self.time_slice(spec, ratio, side, numerator, total, objective, total_field)
        if "first" in total:
            pair = total["first"]
            if set(total) != {"first"} or not isinstance(pair, list) or len(pair) != 2 or side != "good":
                raise self.fail("a resolution is good {match: G} of total {first: [G, BAD]}", total, "first",
                                total_field)
            if pair[0] != numerator["match"]:
                raise self.fail("the first of `first` must equal the good matcher", total, "first", total_field)
            return self.node(spec, {"resolution": self.node(total, {"good": pair[0], "bad": pair[1]})})
        if set(total) - {"match", "exclude"} or "match" not in total:
            raise self.fail("an occurrences total is {match: M, exclude?: X}", total, None, total_field)
        body = {"match": total["match"], side: numerator["match"]}
        if "exclude" in total:
            body["exclude"] = total["exclude"]
        return self.node(spec, {"events": self.node(total, body)})

    def time_slice(
        self, spec: Any, ratio: Any, side: str, numerator: Any, total: Any, objective: Any, total_field: str
    ) -> Any:
        if side != "good":
            raise self.fail("Timeslices can be mapped from good/total only", ratio, "bad", "ratioMetric.bad")
        if "any" in total:
            pair = total["any"]
            if set(total) != {"any"} or not isinstance(pair, list) or len(pair) != 2 or pair[0] != numerator["match"]:
                raise self.fail("a time-slice total is {any: [GOOD, BAD]} or {match: M}", total, "any", total_field)
            bad = pair[1]
        elif set(total) == {"match"}:
            bad = total["match"]  # good is checked first, so this counts total-but-not-good as bad
        else:
            raise self.fail("a time-slice total is {any: [GOOD, BAD]} or {match: M}", total, None, total_field)
        body: dict[str, Any] = {"good": numerator["match"], "bad": bad}
        if "timeSliceTarget" in objective:
            body["min_ratio"] = objective["timeSliceTarget"]
        raw_window = objective.get("timeSliceWindow")
        if raw_window is not None:
            numeric = isinstance(raw_window, int) and not isinstance(raw_window, bool)
            body["slice"] = f"{raw_window}m" if numeric else raw_window  # a bare number is minutes
        return self.node(spec, {"time_slice": self.node(total, body)})

    def alerting(self, spec: Any, annotations: Any, field: str) -> dict[str, Any] | None:
        items: dict[str, Any] = {}
        for annotation, key in ALERT_ANNOTATIONS.items():
            value = annotations.get(f"{PREFIX}{annotation}")
            if value is None:
                continue
            if key == "min_bad_events":
                items[key] = _annotation_int(value)
            elif key == "budget_alerts":
                items[key] = self.budget_alerts(value, annotations, f"{PREFIX}{annotation}")
            else:
                items[key] = value
        policies = spec.get("alertPolicies")
        if policies is not None:
            if not isinstance(policies, list) or not policies:
                raise self.fail("must be a non-empty list", spec, "alertPolicies", field)
            items["tiers"] = [self.tier(policy, f"{field}[{i}]") for i, policy in enumerate(policies)]
        return items or None

    def budget_alerts(self, value: Any, annotations: Any, key: str) -> Any:
        """`warning=0.5,critical=0.8` → {warning: 0.5, critical: 0.8}."""
        parsed = {}
        for part in str(value).split(","):
            severity, _, ratio = part.partition("=")
            try:
                parsed[severity.strip()] = float(ratio)
            except ValueError:
                raise self.fail("must be SEVERITY=RATIO,…", annotations, key, key) from None
        return self.node(annotations, parsed)

    def tier(self, item: Any, field: str) -> Any:
        if not isinstance(item, dict):
            raise self.fail("must be a mapping", item, None, field)
        policy = self.find("AlertPolicy", item["alertPolicyRef"]) if "alertPolicyRef" in item else item
        if policy is None:
            raise self.fail(f"no AlertPolicy named {item['alertPolicyRef']!r} in this file", item, "alertPolicyRef",
                            f"{field}.alertPolicyRef")
        spec = self.get_mapping(policy, "spec", f"{field}.spec")
        conditions = spec.get("conditions")
        if not isinstance(conditions, list) or len(conditions) != 1 or not isinstance(conditions[0], dict):
            raise self.fail("exactly one condition", spec, "conditions", f"{field}.spec.conditions")
        entry = conditions[0]
        condition_doc: Any = entry
        if "conditionRef" in entry:
            condition_doc = self.find("AlertCondition", entry["conditionRef"])
            if condition_doc is None:
                raise self.fail(f"no AlertCondition named {entry['conditionRef']!r} in this file", entry,
                                "conditionRef", f"{field}.spec.conditions[0].conditionRef")
        at = f"{field}.spec.conditions[0].spec"
        body = self.get_mapping(condition_doc, "spec", at)
        severity = body.get("severity")
        if severity not in ("page", "ticket"):
            raise self.fail("must be page or ticket", body, "severity", f"{at}.severity")
        condition = self.get_mapping(body, "condition", f"{at}.condition")
        if condition.get("kind", "burnrate") != "burnrate":
            raise self.fail("only burnrate conditions can be mapped", condition, "kind", f"{at}.condition.kind")
        if condition.get("op") not in ("gte", "gt"):
            raise self.fail("only gte (alert when the burn rate reaches threshold) can be mapped", condition, "op",
                            f"{at}.condition.op")
        long_window = parse_duration(condition.get("lookbackWindow"))
        if long_window is None:
            raise self.fail("not a duration", condition, "lookbackWindow", f"{at}.condition.lookbackWindow")
        annotations = self.annotations(policy)
        short = annotations.get(f"{PREFIX}short-window", format_duration(max(long_window // 12, 60)))
        tier = {"severity": severity, "long": condition["lookbackWindow"], "short": short,
                "factor": condition.get("threshold")}
        return self.node(condition, tier)


def openslo_to_native(documents: list[Any], source: str, mapping_type: type) -> Any:
    """The native spec document (the loader's line-keeping mappings) for a list of OpenSLO documents."""
    return _Importer(source, mapping_type).native(documents)


# --- export ----------------------------------------------------------------------------------------------


def export_openslo(spec: Spec, service: str = "slo-pipeline") -> str:
    """The compiled spec as OpenSLO v1 documents: re-importing them gives an equal compiled spec."""
    from processors.spec.loader import default_tiers

    documents: list[dict[str, Any]] = [
        {
            "apiVersion": OPENSLO_VERSION,
            "kind": "Service",
            "metadata": {"name": service, "annotations": {SPEC_ANNOTATION: _dump(_extras(spec))}},
            "spec": {"description": "Exported by slo-pipeline; the annotation holds what OpenSLO has no field for."},
        }
    ]
    for slo in spec.slos:
        indicator, objective, method = _indicator(slo.sli)
        objective["target"] = slo.objective
        documents.append(
            {
                "apiVersion": OPENSLO_VERSION,
                "kind": "SLI",
                "metadata": {"name": f"{slo.name}-sli"},
                "spec": indicator,
            }
        )
        annotations = {f"{PREFIX}{a}": getattr(slo, k) for a, k in SLO_ANNOTATIONS.items() if getattr(slo, k)}
        policy = slo.alerting
        alert_policies = []
        if policy is not None:
            if policy.min_bad_events != 5:
                annotations[f"{PREFIX}min-bad-events"] = str(policy.min_bad_events)
            if policy.no_data_after is not None:
                annotations[f"{PREFIX}no-data"] = format_duration(policy.no_data_after)
            if policy.budget_thresholds != (("warning", 0.5), ("critical", 0.8), ("exhausted", 1.0)):
                annotations[f"{PREFIX}budget-alerts"] = ",".join(f"{s}={r!r}" for s, r in policy.budget_thresholds)
            if policy.tiers != default_tiers(slo.window):
                alert_policies = [_alert_policy(slo.name, index, tier) for index, tier in enumerate(policy.tiers)]
        window: dict[str, Any] = {"duration": format_duration(slo.window), "isRolling": True}
        if slo.calendar_month:
            window = {"duration": "1M", "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": "UTC"},
                      "isRolling": False}
        body: dict[str, Any] = {"description": slo.description} if slo.description else {}
        body.update(
            {
                "service": service,
                "indicatorRef": f"{slo.name}-sli",
                "timeWindow": [window],
                "budgetingMethod": method,
                "objectives": [objective],
            }
        )
        if alert_policies:
            body["alertPolicies"] = alert_policies
        metadata: dict[str, Any] = {"name": slo.name}
        if annotations:
            metadata["annotations"] = annotations
        documents.append({"apiVersion": OPENSLO_VERSION, "kind": "SLO", "metadata": metadata, "spec": body})
    return "---\n".join(_dump(document) for document in documents)


class _Dumper(yaml.SafeDumper):
    """No anchors (the loader refuses them); multi-line strings (the embedded spec) as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def _source(query: dict[str, Any]) -> dict[str, Any]:
    return {"metricSource": {"type": SOURCE_TYPE, "spec": query}}


def _indicator(sli: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(SLI spec, objective without target, budgeting method)."""
    if isinstance(sli, LatencySli):
        query = {"start": matcher_document(sli.start), "end": matcher_document(sli.end)}
        return {"thresholdMetric": _source(query)}, {"op": "lte", "value": sli.threshold_ms}, "Occurrences"
    if isinstance(sli, TimeSliceSli):
        ratio = {
            "good": _source({"match": matcher_document(sli.good)}),
            "total": _source({"any": [matcher_document(sli.good), matcher_document(sli.bad)]}),
        }
        objective = {"timeSliceTarget": sli.min_ratio, "timeSliceWindow": format_duration(sli.slice_seconds)}
        return {"ratioMetric": {"counter": False, **ratio}}, objective, "Timeslices"
    if isinstance(sli, ResolutionSli):
        ratio = {
            "good": _source({"match": matcher_document(sli.good)}),
            "total": _source({"first": [matcher_document(sli.good), matcher_document(sli.bad)]}),
        }
        return {"ratioMetric": {"counter": False, **ratio}}, {}, "Occurrences"
    assert isinstance(sli, EventsSli)
    total: dict[str, Any] = {"match": matcher_document(sli.match)}
    if sli.exclude is not None:
        total["exclude"] = matcher_document(sli.exclude)
    side = "good" if sli.good is not None else "bad"
    numerator = sli.good if sli.good is not None else sli.bad
    assert numerator is not None
    ratio = {side: _source({"match": matcher_document(numerator)}), "total": _source(total)}
    return {"ratioMetric": {"counter": False, **ratio}}, {}, "Occurrences"


def _alert_policy(slo: str, index: int, tier: Any) -> dict[str, Any]:
    return {
        "kind": "AlertPolicy",
        "metadata": {
            "name": f"{slo}-{tier.severity}-{index}",
            "annotations": {f"{PREFIX}short-window": format_duration(tier.short_window)},
        },
        "spec": {
            "alertWhenBreaching": True,
            "alertWhenResolved": True,
            "alertWhenNoData": False,
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": f"{slo}-burn-{format_duration(tier.long_window)}"},
                    "spec": {
                        "severity": tier.severity,
                        "condition": {
                            "kind": "burnrate",
                            "op": "gte",
                            "threshold": tier.factor,
                            "lookbackWindow": format_duration(tier.long_window),
                            "alertAfter": "0m",
                        },
                    },
                }
            ],
            "notificationTargets": [],
        },
    }


def field_name(path: tuple[str, ...]) -> str:
    """The matcher name of a field path (the inverse of the loader's _field_path)."""
    from processors.spec.loader import LOG_TOP_LEVEL_FIELDS

    if path == ("metadata", "action"):
        return "action"
    if path[0] == "metadata" and len(path) > 1 and path[1] not in LOG_TOP_LEVEL_FIELDS | {"metadata", "action"}:
        return ".".join(path[1:])
    return ".".join(path)


def matcher_document(matcher: Matcher) -> dict[str, Any]:
    return {field_name(c.path): _condition_value(c) for c in matcher.conditions}


def _condition_value(condition: Condition) -> Any:
    return condition.value if condition.op == "eq" else {condition.op: condition.value}


def _extras(spec: Spec) -> dict[str, Any]:
    """The native sections OpenSLO has no field for: defaults, journey, vocabulary, sketches, metrics, traces."""
    data: dict[str, Any] = {
        "defaults": {"trace_ttl_days": spec.trace_ttl_days, "max_runtime": format_duration(spec.default_max_runtime)}
    }
    journey = spec.journey
    if journey is not None:
        data["journey"] = {
            "name": journey.name,
            "milestones": list(journey.milestones),
            "phases": [
                {"name": p.name, "from": p.start, "to": p.end, **({} if p.summary else {"summary": False})}
                for p in journey.phases
            ],
            "opens": journey.opens,
            "resolutions": [_resolution(r) for r in journey.resolutions],
            "max_runtime": format_duration(journey.max_runtime),
            "fields": {
                key: field_name(path)
                for key, path in (("workflow", journey.workflow_field), ("repository", journey.repository_field))
                if path
            },
            "services": dict(journey.services),
        }
    data["targets"] = {
        "compliance_time": spec.targets.compliance_time,
        "budget_use": spec.targets.budget_use,
        "mttr": format_duration(spec.targets.mttr),
        "trace_coverage": spec.targets.trace_coverage,
    }
    if spec.log_format != LogFormat():
        data["log_format"] = _log_format(spec.log_format)
    if spec.trace_metadata:
        data["traces"] = {"metadata": list(spec.trace_metadata)}
    declared = list(spec.extras.get("declared_vocabulary", ()))
    if declared:
        data["vocabulary"] = declared
    if spec.latency:
        data["latency"] = [_sketch(sketch) for sketch in spec.latency]
    if spec.metrics:
        counters = {counter.name: counter for counter in spec.counters}
        data["metrics"] = [_metric(metric, counters) for metric in spec.metrics]
    return data


def _log_format(log_format: LogFormat) -> dict[str, Any]:
    from processors.spec.loader import LOG_FORMAT_FIELDS

    found: dict[str, Any] = {
        "validation": log_format.validation,
        "unwrap": list(log_format.unwrap),
        "fields": {name: list(getattr(log_format, name)) for name in LOG_FORMAT_FIELDS},
    }
    rule = log_format.access_log
    found["access_log"] = False if rule is None else {
        "detect": list(rule.detect), "action": rule.action, "numbers": list(rule.numbers), "duration": rule.duration,
    }
    return found


def _resolution(resolution: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": resolution.name, "action": resolution.action}
    if resolution.sweep:
        found["sweep"] = True
    if resolution.outcome_field:
        found["outcome"] = field_name(resolution.outcome_field)
    if resolution.error:
        found["error"] = resolution.error
    return found


def _sketch(sketch: Any) -> dict[str, Any]:
    if sketch.stitched:
        return {"name": sketch.name, "stitched": sketch.stitched}
    if sketch.between:
        return {"name": sketch.name, "start": matcher_document(sketch.start), "end": matcher_document(sketch.end)}
    return {"name": sketch.name, "match": matcher_document(sketch.match), "value": field_name(sketch.value_path)}


def _metric(metric: Any, counters: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"name": metric.name, "kind": metric.kind, "unit": metric.unit}
    if metric.of != "total":
        found["of"] = metric.of
    if metric.kind == "cost":
        found["per_hour"] = metric.per_hour
    if metric.kind == "utilization":
        found["capacity"] = metric.capacity
    if metric.kind in ("gauge", "utilization"):
        found["source"] = "open_units"
    elif metric.kind == "mttr":
        found["source"] = "alert_log"
    elif metric.sketch is not None:
        found["source"] = {"sketch": metric.sketch}
    elif metric.counter in counters:
        sli = counters[metric.counter].sli
        source: dict[str, Any] = {"match": matcher_document(sli.match)}
        if sli.good is not None and sli.good != sli.match:
            source["good"] = matcher_document(sli.good)
        if sli.exclude is not None:
            source["exclude"] = matcher_document(sli.exclude)
        found["source"] = source
    else:
        found["source"] = {"slo": metric.counter}
    return found
