#!/usr/bin/env bash
# The @vendrome/client package (contracts/ts-client/): installs its pinned npm dependencies,
# generates its types from contracts/openapi.json, type-checks it with its tests, runs its vitest
# suite against a live `vendrome serve` started here (or the one VENDROME_BASE_URL names, with
# the VENDROME_SIGNING_KEYS it signs with), then packs it with `npm pack` and checks in a fresh
# consumer project that the packed types compile and that the README's frontend quick start runs
# as written: signs in, reads the feed and prints a message that arrives on the socket.
#
# Env:
#   VENDROME_BASE_URL       test this server instead of starting one (the cluster does)
#   VENDROME_SIGNING_KEYS   its signing keys (required with VENDROME_BASE_URL)
#   VENDROME_TEST_ADMIN_EMAIL, VENDROME_TEST_ADMIN_PASSWORD
#                           an admin of it (required with VENDROME_BASE_URL; the read-only test
#                           turns the `read_only` flag on and off)
#   VENDROME_BIN            the server binary to start (default: a debug build of vendrome-cli)
#   SDK_SKIP_PACK=1         run the suite only
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PKG="$ROOT/contracts/ts-client"

# ------------------------------------------------------------ npm deps ---
# shellcheck source=scripts/peers/ts-client-deps.sh
source "$ROOT/scripts/peers/ts-client-deps.sh"
ts_client_deps "$PKG"
BIN_DIR="$PKG/node_modules/.bin"

echo "sdk: openapi-typescript contracts/openapi.json -> src/schema.ts; tsc (package and tests)"
"$BIN_DIR/openapi-typescript" contracts/openapi.json -o "$PKG/src/schema.ts" >/dev/null
"$BIN_DIR/tsc" -p "$PKG/tsconfig.test.json"

# -------------------------------------------------------------- server ---
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendrome-sdk.XXXXXX")"
SERVER_PID=""
QUICK_PID=""
cleanup() {
  set +e
  for pid in $QUICK_PID $SERVER_PID; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "${VENDROME_BASE_URL:-}" ]]; then
  if [[ -z "${VENDROME_BIN:-}" ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vendrome/target}"
    cargo build -q -p vendrome-cli
    VENDROME_BIN="$CARGO_TARGET_DIR/debug/vendrome"
  fi
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export VENDROME_BASE_URL="http://127.0.0.1:$PORT"
  VENDROME_SIGNING_KEYS="ksdk:$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')"
  export VENDROME_SIGNING_KEYS
  export VENDROME_TEST_ADMIN_EMAIL="admin@example.com" VENDROME_TEST_ADMIN_PASSWORD="an admin test passphrase"
  (
    unset VENDROME_DATABASE_URL VENDROME_NATS_URL VENDROME_VALKEY_URL
    export VENDROME_DATA_DIR="$WORK/data"
    "$VENDROME_BIN" migrate up >/dev/null
    printf '%s\n' "$VENDROME_TEST_ADMIN_PASSWORD" |
      "$VENDROME_BIN" users create --email "$VENDROME_TEST_ADMIN_EMAIL" --admin >/dev/null
    exec env RUST_LOG=warn "$VENDROME_BIN" serve --bind "127.0.0.1:$PORT"
  ) >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    curl -fsS "$VENDROME_BASE_URL/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$VENDROME_BASE_URL/healthz" >/dev/null || { cat "$WORK/server.log"; exit 1; }
fi
: "${VENDROME_SIGNING_KEYS:?set it to the signing keys of the server at VENDROME_BASE_URL}"
: "${VENDROME_TEST_ADMIN_EMAIL:?set it (and VENDROME_TEST_ADMIN_PASSWORD) to an admin of the server at VENDROME_BASE_URL}"
echo "sdk: testing against $VENDROME_BASE_URL"

server_log() {
  [[ -f "$WORK/server.log" ]] && { echo "--- server log" >&2; tail -n 50 "$WORK/server.log" >&2; }
  return 1
}

# --------------------------------------------------------------- tests ---
(cd "$PKG" && "$BIN_DIR/vitest" run --reporter=default) || server_log

[[ "${SDK_SKIP_PACK:-}" == "1" ]] && exit 0

# ------------------------------------------------------ pack + consumer ---
echo "sdk: npm pack"
(cd "$PKG" && npm pack --silent --pack-destination "$WORK" >/dev/null)
TARBALL="$(ls "$WORK"/vendrome-client-*.tgz)"
echo "sdk: $(basename "$TARBALL"): $(tar -tzf "$TARBALL" | wc -l) files"

CONSUMER="$WORK/consumer"
mkdir -p "$CONSUMER"
cat >"$CONSUMER/package.json" <<JSON
{ "name": "sdk-consumer", "private": true, "type": "module" }
JSON
(cd "$CONSUMER" && npm install --no-audit --no-fund --loglevel=error "$TARBALL" >/dev/null)
cat >"$CONSUMER/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "lib": ["ES2022", "DOM", "DOM.Iterable"], "types": [], "strict": true,
    "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true, "skipLibCheck": false,
    "outDir": "out"
  },
  "include": ["quickstart.ts"]
}
JSON
# The README's quick start, verbatim but for the server's address.
awk '/<!-- sdk-quickstart -->/{on=1; next} on && /^```ts/{grab=1; next} grab && /^```/{exit} grab{print}' README.md |
  sed "s#http://127.0.0.1:8080#$VENDROME_BASE_URL#" >"$CONSUMER/quickstart.ts"
[[ -s "$CONSUMER/quickstart.ts" ]] || { echo "sdk: no quick start found in README.md" >&2; exit 1; }
echo "sdk: tsc in a fresh consumer project (the packed types, the README quick start)"
"$BIN_DIR/tsc" -p "$CONSUMER/tsconfig.json"
# Moduleresolution "Bundler" (Vite, webpack) reads the same types.
"$BIN_DIR/tsc" -p "$CONSUMER/tsconfig.json" --module ESNext --moduleResolution Bundler --noEmit

echo "sdk: running the quick start against $VENDROME_BASE_URL"
api() { curl -fsS "$VENDROME_BASE_URL$1" -H 'content-type: application/json' "${@:2}"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(eval(sys.argv[1]))' "$1"; }
ADA="$(api /v1/auth/register -d '{"email":"ada@example.com","password":"correct horse battery staple","display_name":"Ada"}')"
ADA_ID="$(json 'd["user"]["id"]' <<<"$ADA")"
ADA_TOKEN="$(json 'd["access_token"]' <<<"$ADA")"
api /v1/posts -H "authorization: Bearer $ADA_TOKEN" -d '{"body":"Ada'"'"'s first post"}' >/dev/null
GRACE_TOKEN="$(api /v1/auth/register -d '{"email":"grace@example.com","password":"another fine passphrase","display_name":"Grace"}' | json 'd["access_token"]')"
CONV="$(api /v1/conversations -H "authorization: Bearer $GRACE_TOKEN" -d "{\"user_id\":\"$ADA_ID\"}" | json 'd["id"]')"

(cd "$CONSUMER" && exec node --experimental-websocket --no-warnings out/quickstart.js) >"$WORK/quickstart.out" 2>&1 &
QUICK_PID=$!
# The quick start prints the feed, then listens; a message sent once it listens must be printed.
for _ in $(seq 1 300); do grep -q "listening for messages" "$WORK/quickstart.out" && break; sleep 0.1; done
api "/v1/conversations/$CONV/messages" -H "authorization: Bearer $GRACE_TOKEN" -d '{"body":"hello Ada"}' >/dev/null
for _ in $(seq 1 300); do grep -q "new message: hello Ada" "$WORK/quickstart.out" && break; sleep 0.1; done
cat "$WORK/quickstart.out" | sed 's/^/sdk: quickstart> /'
grep -q "Ada's first post" "$WORK/quickstart.out" && grep -q "new message: hello Ada" "$WORK/quickstart.out" || {
  echo "sdk: the quick start did not print the feed and the message" >&2
  server_log
}
echo "sdk: ok"
