#!/usr/bin/python3
"""Reads Prometheus text exposition on stdin, parses it with the official Prometheus Python client's parser
(prometheus_client.parser, Debian package python3-prometheus-client) and prints the families as JSON:
{"families": [{"name", "type", "samples": [{"name", "labels", "value"}]}]}. Used by MetricsIT."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    samples = []
    for s in f.samples:
        v = s.value
        samples.append({"name": s.name, "labels": dict(s.labels),
                        "value": v if math.isfinite(v) else str(v)})
    families.append({"name": f.name, "type": f.type, "samples": samples})
json.dump({"families": families}, sys.stdout)
