"""A consumer-group member that is not Learnlog's (confluent-kafka): joins GROUP on TOPIC, waits until it holds
the partition and has read its first record, commits COMMIT_OFFSET (the next offset to read), prints
"committed OFFSET" and then idles, heartbeating, until it is killed. A test SIGKILLs it to see that the group's
next member resumes exactly at the committed offset.

usage: group_member.py BROKERS TOPIC GROUP COMMIT_OFFSET SECONDS
"""

import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    brokers, topic, group, commit_offset, seconds = sys.argv[1:6]
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
    })
    consumer.subscribe([topic])
    deadline = time.monotonic() + float(seconds)
    first = None
    while first is None and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        first = message
    if first is None:
        print("no record before the deadline", file=sys.stderr)
        return 1
    committed = TopicPartition(topic, first.partition(), int(commit_offset))
    consumer.commit(offsets=[committed], asynchronous=False)
    print(f"committed {commit_offset}", flush=True)
    # Stay a live member (poll serves the heartbeats) until the test kills this process.
    while time.monotonic() < deadline:
        consumer.poll(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
