"""Listens to a Learnlog live stream as a frontend's SSE client would: httpx with httpx-sse, at their defaults.

    sse_listen.py <url> <access-token> [<last-event-id>]

An empty access token sends no Authorization header, as a browser's EventSource does (the URL then carries a
ticket).

Prints each event as one JSON line as soon as it arrives ({"event", "id", "data"}, data decoded), and a last line
{"closed": true} when the server ends the stream. The caller stops it by killing it: that is a client going away.
"""

import json
import sys

import httpx
from httpx_sse import connect_sse


def main():
    url, token, *rest = sys.argv[1:]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if rest:
        headers["Last-Event-ID"] = rest[0]
    with httpx.Client() as client:
        with connect_sse(client, "GET", url, headers=headers) as source:
            print(json.dumps({"status": source.response.status_code,
                              "content_type": source.response.headers.get("content-type")}), flush=True)
            source.response.raise_for_status()
            for event in source.iter_sse():
                print(json.dumps({"event": event.event, "id": event.id, "data": json.loads(event.data)}), flush=True)
    print(json.dumps({"closed": True}), flush=True)


if __name__ == "__main__":
    main()
