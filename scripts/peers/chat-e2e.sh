#!/usr/bin/env bash
# The example chat page (/examples/chat/) in two headless Chromium sessions: starts
# `vendrome serve` on a fresh embedded data dir, creates two members and their conversation,
# then runs scripts/peers/chat-e2e/test.mjs with playwright-core and Debian's chromium (both
# installed by scripts/peers/install.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vendrome/target}"
cargo build -q -p vendrome-cli
BIN="$CARGO_TARGET_DIR/debug/vendrome"

DATA="$(mktemp -d "${TMPDIR:-/tmp}/vendrome-chat-e2e.XXXXXX")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

export VENDROME_DATA_DIR="$DATA"
unset VENDROME_DATABASE_URL VENDROME_SIGNING_KEYS VENDROME_NATS_URL VENDROME_VALKEY_URL
RUST_LOG=warn "$BIN" serve --bind "127.0.0.1:$PORT" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$DATA/server.log"; exit 1; }

PASSWORD="a chat test passphrase"
register() {
  curl -fsS "$BASE/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\",\"display_name\":\"$2\"}"
}
A_JSON="$(register ana@example.com Ana)"
B_JSON="$(register ben@example.com Ben)"
A_TOKEN="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["data"]["access_token"])' "$A_JSON")"
B_ID="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["data"]["user"]["id"])' "$B_JSON")"
curl -fsS "$BASE/v1/conversations" -H 'content-type: application/json' \
  -H "authorization: Bearer $A_TOKEN" -d "{\"user_id\":\"$B_ID\"}" >/dev/null

# ES modules resolve packages next to the script: run a copy inside the installed project.
cp "$ROOT/scripts/peers/chat-e2e/test.mjs" "$PEERS_CHAT/test.mjs"
node "$PEERS_CHAT/test.mjs" "$BASE" ana@example.com ben@example.com "$PASSWORD" || {
  echo "--- server log" >&2
  tail -n 50 "$DATA/server.log" >&2
  exit 1
}
