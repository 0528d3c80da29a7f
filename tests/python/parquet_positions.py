"""Reads every Parquet file of an export directory with DuckDB, as an analyst would, and prints as JSON the number
of rows, the first and last position, the number of distinct positions and of distinct event types.

usage: parquet_positions.py EXPORT_DIR
"""

import json
import os
import sys

import duckdb

root = sys.argv[1]
pattern = os.path.join(root, "*", "*.parquet")
row = duckdb.connect().execute(
    "SELECT count(*), min(position), max(position), count(DISTINCT position), count(DISTINCT event_type) "
    "FROM read_parquet(?, union_by_name = true)",
    [pattern],
).fetchone()
print(json.dumps({"rows": row[0], "first": row[1], "last": row[2], "positions": row[3], "types": row[4]}))
