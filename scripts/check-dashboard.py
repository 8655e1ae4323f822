#!/usr/bin/env python3
"""docker/grafana/dashboards/llmgw.json is valid JSON, its panel ids are unique, and every
llmgw_ metric its queries use is documented in docs/observability.md (so registered: the
docs.metrics_documented test checks the code against the same table)."""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

dashboard = json.loads((ROOT / "docker/grafana/dashboards/llmgw.json").read_text())
docs = (ROOT / "docs/observability.md").read_text()
documented = set(re.findall(r"^\|\s*`(llmgw_[a-z0-9_]+)`", docs, re.M))
errors = []
ids = [panel["id"] for panel in dashboard["panels"]]
if len(ids) != len(set(ids)):
    errors.append("panel ids repeat")
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        for name in re.findall(r"llmgw_[a-z0-9_]+", target["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if base not in documented:
                errors.append(f"panel {panel['title']!r}: {base} is not in docs/observability.md")
for error in errors:
    print(error, file=sys.stderr)
sys.exit(1 if errors else 0)
