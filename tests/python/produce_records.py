"""A producer that is not Learnlog's (confluent-kafka): writes the records given on standard input, one JSON
object per line ({"topic", "key", "headers": [[name, value], ...], "value"}), then waits until the broker
acknowledged every one. Tests use it as someone who can write to the topics: a forger.

usage: produce_records.py BROKERS < records.ndjson
"""

import json
import sys

from confluent_kafka import Producer


def main() -> int:
    producer = Producer({"bootstrap.servers": sys.argv[1], "acks": "all"})
    failures = []

    def delivered(error, message):
        if error is not None:
            failures.append(str(error))

    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        producer.produce(
            record["topic"],
            key=record["key"].encode() if record["key"] is not None else None,
            value=record["value"].encode(),
            headers=[(name, value.encode()) for name, value in record["headers"]],
            on_delivery=delivered,
        )
    remaining = producer.flush(30)
    if remaining or failures:
        print(f"not delivered: {remaining} pending, failures {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
