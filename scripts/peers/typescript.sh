#!/usr/bin/env bash
# Generates TypeScript types from the OpenAPI document and type-checks the
# @vendrome/client package in contracts/ts-client/ against them: a schema change
# that breaks a typed frontend fails here. (scripts/peers/sdk.sh also runs the
# package's tests against a live server and packs it.)
#
# Env:
#   OPENAPI_FILE        document to check (default: contracts/openapi.json; relative = from the repo root)
#   VENDROME_PEERS_DIR  where scripts/peers/install.sh put the tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

OPENAPI_FILE="${OPENAPI_FILE:-contracts/openapi.json}"
OUT="contracts/ts-client/src/schema.ts"

# Prefer the cached peers; fall back to contracts/ts-client/node_modules
# (after `npm ci` there) for local use.
bin_dir="$PEERS_NPM/node_modules/.bin"
if [[ ! -x "$bin_dir/tsc" ]]; then
  bin_dir="contracts/ts-client/node_modules/.bin"
fi
if [[ ! -x "$bin_dir/tsc" || ! -x "$bin_dir/openapi-typescript" ]]; then
  echo "typescript.sh: openapi-typescript/tsc not found; run scripts/peers/install.sh first" >&2
  exit 1
fi
if [[ ! -f "$OPENAPI_FILE" ]]; then
  echo "typescript.sh: $OPENAPI_FILE does not exist" >&2
  exit 1
fi

# shellcheck source=scripts/peers/ts-client-deps.sh
source "$ROOT/scripts/peers/ts-client-deps.sh"
ts_client_deps "$ROOT/contracts/ts-client"

echo "typescript.sh: openapi-typescript $OPENAPI_FILE -> $OUT"
"$bin_dir/openapi-typescript" "$OPENAPI_FILE" -o "$OUT"
echo "typescript.sh: tsc --noEmit -p contracts/ts-client"
"$bin_dir/tsc" --noEmit -p contracts/ts-client
echo "typescript.sh: ok"
