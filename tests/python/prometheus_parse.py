"""Parses Prometheus text exposition from stdin with the official Python client's parser and prints every
family as JSON: name, type and samples (name, labels, value). Invalid text fails the parser."""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        samples = []
        for sample in family.samples:
            value = sample.value
            samples.append({
                "name": sample.name,
                "labels": dict(sample.labels),
                "value": value if math.isfinite(value) else (1e308 if value > 0 else -1e308),
            })
        families.append({"name": family.name, "type": family.type, "samples": samples})
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
