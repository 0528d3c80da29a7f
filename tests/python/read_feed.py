"""Reads every page of the event history (`GET /api/v1/events`) as an analyst would, with a client's default
settings: `requests` (which asks for gzip) or DuckDB over HTTP (httpfs). Prints one JSON array, an object per
line received: position, event_id, stream_id, stream_version, event_type and the payload as text.

usage: read_feed.py BASE_URL TOKEN requests|duckdb PAGE_LIMIT
"""

import json
import sys

base, token, client, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
url = base.rstrip("/") + "/api/v1/events"
FIELDS = ("position", "event_id", "stream_id", "stream_version", "event_type")


def with_requests():
    import requests

    after, lines = 0, []
    while True:
        answer = requests.get(url, params={"after": after, "limit": limit},
                              headers={"Authorization": f"Bearer {token}"}, timeout=60)
        answer.raise_for_status()
        page = [json.loads(line) for line in answer.text.splitlines()]
        lines += [{**{f: line[f] for f in FIELDS}, "payload": json.dumps(line["payload"], sort_keys=True)}
                  for line in page]
        if len(page) < limit:
            return lines
        after = page[-1]["position"]


def with_duckdb():
    import duckdb
    import duckdb_extension_httpfs
    import pathlib

    connection = duckdb.connect()
    version = connection.sql("PRAGMA version").fetchone()[0]
    extension = pathlib.Path(duckdb_extension_httpfs.__file__).parent / "extensions" / version / "httpfs.duckdb_extension"
    connection.sql(f"INSTALL '{extension}'")
    connection.sql("LOAD httpfs")
    connection.sql(f"CREATE SECRET feed (TYPE http, BEARER_TOKEN '{token}')")
    after, lines = 0, []
    while True:
        rows = connection.sql(
            f"""SELECT position, event_id::VARCHAR, stream_id, stream_version, event_type, payload::VARCHAR
                FROM read_json('{url}?after={after}&limit={limit}', format = 'newline_delimited',
                               columns = {{position: 'BIGINT', event_id: 'UUID', stream_id: 'VARCHAR',
                                          stream_version: 'BIGINT', event_type: 'VARCHAR', payload: 'JSON'}})
                ORDER BY position"""
        ).fetchall()
        lines += [{**dict(zip(FIELDS, row[:5])), "payload": json.dumps(json.loads(row[5]), sort_keys=True)}
                  for row in rows]
        if len(rows) < limit:
            return lines
        after = rows[-1][0]


print(json.dumps(with_requests() if client == "requests" else with_duckdb()))
