"""A consumer that is not Learnlog's: reads every context topic from offset 0 with confluent-kafka and prints
each record as one JSON line (topic, partition, offset, key, headers, value), until it has `expected` records
or `seconds` have passed.

usage: read_topics.py BROKERS TOPIC_PREFIX EXPECTED SECONDS
"""

import json
import sys
import time
import uuid

from confluent_kafka import Consumer

CONTEXTS = ["identity", "catalog", "learning", "commerce", "support", "engagement", "comms"]


def main() -> int:
    brokers, prefix, expected, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"foreign-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
    })
    consumer.subscribe([f"{prefix}learnlog.{context}.events.v1" for context in CONTEXTS])
    seen = 0
    deadline = time.monotonic() + seconds
    try:
        while seen < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                print(f"consumer error: {message.error()}", file=sys.stderr)
                continue
            headers = {key: value.decode() for key, value in (message.headers() or [])}
            print(json.dumps({
                "topic": message.topic(),
                "partition": message.partition(),
                "offset": message.offset(),
                "key": message.key().decode(),
                "headers": headers,
                "value": json.loads(message.value()),
            }), flush=True)
            seen += 1
    finally:
        consumer.close()
    return 0 if seen >= expected else 1


if __name__ == "__main__":
    sys.exit(main())
