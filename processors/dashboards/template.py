"""`slo dashboards` writes the bodies to sam/dashboards/*.json and into sam/template.yaml between the GENERATED
markers; tests read them back from the decoded template."""

from __future__ import annotations

import json
import re
from typing import Any

from processors.dashboards.exceptions import DashboardError
from processors.dashboards.widgets import BEGIN_MARKER, END_MARKER


def render(body: dict[str, Any]) -> str:
    """JSON with one widget (or variable) a line: short enough to read, diffs show which widget changed."""
    parts = []
    for key, value in body.items():
        if isinstance(value, list):
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def rewrite_template(text: str, dashboards: dict[str, dict[str, Any]]) -> str:
    """The template with each GENERATED block's `|` scalar replaced by the dashboard JSON."""
    for name, body in dashboards.items():
        pattern = re.compile(
            rf"^(?P<begin>[ \t]*{re.escape(BEGIN_MARKER + name)}\n)(?P<block>.*?)"
            rf"^(?P<end>[ \t]*{re.escape(END_MARKER + name)}\n)",
            re.MULTILINE | re.DOTALL,
        )
        match = pattern.search(text)
        if match is None:
            raise DashboardError(f"template has no GENERATED markers for dashboard {name!r}")
        lines = match.group("block").splitlines(keepends=True)
        headers = [i for i, line in enumerate(lines) if line.rstrip().endswith("|")]
        if not headers:
            raise DashboardError(f"GENERATED block for dashboard {name!r} has no `|` block scalar")
        head = lines[: headers[0] + 1]
        header = head[-1]
        indent = " " * (len(header) - len(header.lstrip()) + 2)
        json_lines = [indent + line if line else line for line in render(body).splitlines()]
        block = "".join(head) + "\n".join(json_lines) + "\n"
        text = text[: match.start("block")] + block + text[match.end("block") :]
    return text


def embedded_bodies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dashboard name → body as the decoded template holds it (the Fn::Sub string, parsed)."""
    found: dict[str, dict[str, Any]] = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        properties = resource["Properties"]
        sub = properties["DashboardBody"]["Fn::Sub"]
        body = sub[0] if isinstance(sub, list) else sub
        name = properties["DashboardName"]["Fn::Sub"].split("}-", 1)[1]
        found[name] = json.loads(body)
    return found
