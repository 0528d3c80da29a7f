"""Reads a Parquet export of Learnlog's history with DuckDB and pyarrow, as an analyst would, and prints as JSON:
each instructor's earnings and reversals, each course's active enrolments and rating (the latest review of each
trainee, unless deleted later; average half up to 2 decimals), the exported emails, and the Arrow types of a few
columns.

usage: duckdb_check.py EXPORT_DIR
"""

import json
import os
import sys

import duckdb
import pyarrow.parquet as pq


def files(root, event_type):
    return os.path.join(root, event_type, "*.parquet")


def has(root, event_type):
    folder = os.path.join(root, event_type)
    return os.path.isdir(folder) and any(name.endswith(".parquet") for name in os.listdir(folder))


def main():
    root = sys.argv[1]
    db = duckdb.connect()
    out = {"revenue": {}, "enrolled": {}, "ratings": {}, "emails": [], "types": {}}

    def rows(sql):
        return db.execute(sql).fetchall()

    if has(root, "InstructorEarningRecorded"):
        for instructor, gross in rows(
            f"SELECT instructor_id, sum(amount_cents) FROM '{files(root, 'InstructorEarningRecorded')}' GROUP BY ALL"
        ):
            out["revenue"].setdefault(instructor, {"gross": 0, "refunds": 0})["gross"] = int(gross)
    if has(root, "InstructorEarningReversed"):
        for instructor, refunds in rows(
            f"SELECT instructor_id, sum(amount_cents) FROM '{files(root, 'InstructorEarningReversed')}' GROUP BY ALL"
        ):
            out["revenue"].setdefault(instructor, {"gross": 0, "refunds": 0})["refunds"] = int(refunds)

    revoked = (
        f"SELECT course_id, -count(*) AS n FROM '{files(root, 'EnrollmentRevoked')}' GROUP BY ALL"
        if has(root, "EnrollmentRevoked")
        else "SELECT NULL::VARCHAR AS course_id, 0 AS n WHERE false"
    )
    for course, count in rows(
        f"""SELECT course_id, sum(n) FROM (
                SELECT course_id, count(*) AS n FROM '{files(root, 'TraineeEnrolled')}' GROUP BY ALL
                UNION ALL {revoked}
            ) GROUP BY ALL"""
    ):
        out["enrolled"][course] = int(count)

    deleted = (
        f"SELECT course_id, trainee_id, position, NULL::BIGINT AS rating FROM '{files(root, 'CourseReviewDeleted')}'"
        if has(root, "CourseReviewDeleted")
        else "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::BIGINT, NULL::BIGINT WHERE false"
    )
    for course, average, count in rows(
        f"""WITH reviews AS (
                SELECT course_id, trainee_id, position, rating FROM '{files(root, 'CourseReviewed')}'
                UNION ALL {deleted}
            ), latest AS (
                SELECT course_id, rating FROM reviews
                QUALIFY row_number() OVER (PARTITION BY course_id, trainee_id ORDER BY position DESC) = 1
            )
            SELECT course_id, round(avg(rating)::DECIMAL(10, 4), 2), count(rating)
            FROM latest WHERE rating IS NOT NULL GROUP BY ALL"""
    ):
        out["ratings"][course] = {"average": float(average), "count": int(count)}

    out["emails"] = [row[0] for row in rows(
        f"SELECT email FROM '{files(root, 'IndividualTraineeRegistered')}'"
    )]
    schema = pq.read_schema(next(
        os.path.join(root, "OrderPaid", name) for name in sorted(os.listdir(os.path.join(root, "OrderPaid")))
    ))
    out["types"] = {name: str(schema.field(name).type) for name in schema.names}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
