"""Runs schemathesis against a live server, once per kind of caller, over the operations that caller may call.

    contract_run.py <base-url> <config.toml> <max-examples> <role>=<token> ... guest=

The served OpenAPI document says who may call an operation (`x-roles`; none: anyone). A guest run takes the
operations without `x-roles`; a role's run the operations open to that role. Every check runs, with
positive_data_acceptance replaced by schemathesis_hooks.allowed_requests_are_well_formed (see that module). The
seed is fixed (LEARNLOG_SCHEMATHESIS_SEED overrides it) so that a failure is reproduced by running it again.
Exits non-zero if any run finds a failure or an error, and prints each run's summary.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = os.environ.get("LEARNLOG_SCHEMATHESIS_SEED", "20261206")


def operations_for(document, role):
    ids = []
    for methods in document["paths"].values():
        for operation in methods.values():
            roles = operation.get("x-roles")
            open_to_guest = roles is None
            if (role == "guest" and open_to_guest) or (role != "guest" and roles is not None and role in roles):
                ids.append(operation["operationId"])
    return ids


def main():
    base, config, examples, *callers = sys.argv[1:]
    document_url = f"{base}/api/v1/openapi.json"
    with urllib.request.urlopen(document_url) as answer:
        document = json.load(answer)
    schemathesis = Path(sys.executable).parent / "schemathesis"
    environment = dict(os.environ, PYTHONPATH=str(HERE), SCHEMATHESIS_HOOKS="schemathesis_hooks", NO_COLOR="1")
    failed = []
    for caller in callers:
        role, _, token = caller.partition("=")
        ids = operations_for(document, role)
        command = [str(schemathesis), "--no-color", "--config-file", config, "run", document_url, "--url", base,
                   "--max-examples", examples, "--seed", SEED, "--checks", "all",
                   "--exclude-checks", "positive_data_acceptance", "--phases", "examples,fuzzing",
                   "--include-operation-id-regex", "^(" + "|".join(re.escape(i) for i in ids) + ")$"]
        if token:
            command += ["-H", f"Authorization: Bearer {token}"]
        # Schemathesis keeps its cache where it runs: beside the config, in the run's own folder.
        run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900,
                             cwd=Path(config).resolve().parent)
        output = run.stdout + run.stderr
        summary = output[output.rfind("SUMMARY"):] if "SUMMARY" in output else output[-3000:]
        print(f"=== {role}: {len(ids)} operations, exit {run.returncode}\n{summary}")
        if run.returncode != 0:
            failed.append(role)
            print(output[-20000:])
    if failed:
        sys.exit(f"schemathesis found failures as: {', '.join(failed)}")
    print("every run passed")


if __name__ == "__main__":
    main()
