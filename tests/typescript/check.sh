#!/usr/bin/env bash
# Checks that a TypeScript client generated from our OpenAPI document compiles.
#
# Usage: tests/typescript/check.sh <openapi.json path or URL>
#
# Installs the pinned tools (npm ci) when needed, generates generated/api.ts with
# openapi-typescript, then type-checks it together with the hand-written client.ts.
set -euo pipefail

usage() {
  echo "usage: $0 <openapi.json path or URL>" >&2
  exit 2
}
[[ $# -eq 1 && -n "$1" ]] || usage

doc=$1
# A relative file path is taken from the caller's directory, before we change to ours.
if [[ ! "$doc" =~ ^https?:// ]]; then
  if [[ ! -f "$doc" ]]; then
    echo "check.sh: no such file: $doc" >&2
    exit 2
  fi
  doc=$(cd "$(dirname "$doc")" && pwd)/$(basename "$doc")
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

step=""
trap 'rc=$?; if [[ $rc -ne 0 && -n "$step" ]]; then echo "check.sh: FAILED: $step (exit $rc)" >&2; fi' EXIT

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step="npm ci"
  echo "== npm ci" >&2
  npm ci --no-audit --no-fund
fi

step="openapi-typescript $doc"
echo "== openapi-typescript $doc" >&2
mkdir -p generated
rm -f generated/api.ts
npx --no-install openapi-typescript "$doc" -o generated/api.ts

step="tsc -p tsconfig.json"
echo "== tsc -p tsconfig.json" >&2
npx --no-install tsc -p tsconfig.json --pretty false

step=""
echo "check.sh: OK: the client generated from $doc compiles" >&2
