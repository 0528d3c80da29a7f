"""Validates real requests and answers against Learnlog's OpenAPI document with jsonschema (JSON Schema
2020-12, which OpenAPI 3.1 uses): every request body the server took against its operation's request body
schema, every answer body against the response schema of its status class.

usage: validate_openapi.py OPENAPI_JSON SAMPLES_JSONL
Each sample line: {"method", "path" (the template, as in the document), "status", "request" (or null),
"response" (or null)}. Prints one line per failure and exits 1 if any.
"""

import json
import sys

from jsonschema import Draft202012Validator


def validator(document, schema):
    # The document itself is the root resource, so "#/components/schemas/X" resolves.
    root = dict(schema)
    root["components"] = document.get("components", {})
    return Draft202012Validator(root)


def main() -> int:
    document = json.load(open(sys.argv[1]))
    failures = 0
    checked = 0
    for line in open(sys.argv[2]):
        sample = json.loads(line)
        operation = document["paths"].get(sample["path"], {}).get(sample["method"].lower())
        if operation is None:
            print(f"{sample['method']} {sample['path']}: not in the document")
            failures += 1
            continue
        # A request the server took must be one the document allows (a refused one may well not be).
        if sample.get("request") is not None and sample["status"] < 400:
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                print(f"{sample['method']} {sample['path']}: a body was sent but none is documented")
                failures += 1
            else:
                for error in validator(document, body).iter_errors(sample["request"]):
                    print(f"{sample['method']} {sample['path']} request: {error.message} at {list(error.path)}")
                    failures += 1
                checked += 1
        if sample.get("response") is not None:
            status = str(sample["status"])
            responses = operation.get("responses", {})
            response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
            # Problems are sent as application/problem+json, everything else as application/json.
            media = "application/problem+json" if status[0] in "45" else "application/json"
            schema = (response or {}).get("content", {}).get(media, {}).get("schema")
            if schema is None:
                print(f"{sample['method']} {sample['path']}: no documented answer for {status}")
                failures += 1
                continue
            for error in validator(document, schema).iter_errors(sample["response"]):
                print(f"{sample['method']} {sample['path']} {status}: {error.message} at {list(error.path)}")
                failures += 1
            checked += 1
    print(f"checked {checked} bodies, {failures} failures")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
