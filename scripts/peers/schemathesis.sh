#!/usr/bin/env bash
# Starts the vendrome server on a free loopback port, runs schemathesis (4.x)
# against its live OpenAPI document, and stops the server whatever happens.
# Exits non-zero when schemathesis reports any failure or error.
#
# Env:
#   VENDROME_BIN               server binary (default: ${CARGO_TARGET_DIR:-target}/debug/vendrome)
#   SCHEMATHESIS_AUTH_HEADER   optional header for every request, e.g. "Authorization: Bearer xyz"
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation (default: 50)
#   SCHEMATHESIS_SEED          seed for a reproducible run (default: random, printed by schemathesis)
#   SCHEMATHESIS_TIMEOUT       hard limit in seconds for the whole schemathesis run (default: 900)
#   SCHEMATHESIS_EXTRA_ARGS    extra words appended to `schemathesis run` (word-split)
#   SCHEMATHESIS_REPORT_DIR    where the JUnit report goes (default: a temp dir, path printed)
#   VENDROME_PEERS_DIR         where scripts/peers/install.sh put schemathesis
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

# Relative VENDROME_BIN / CARGO_TARGET_DIR are taken from the caller's cwd,
# the default target dir from the repo root.
VENDROME_BIN="${VENDROME_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/vendrome}"
[[ "$VENDROME_BIN" == /* ]] || VENDROME_BIN="$PWD/$VENDROME_BIN"
cd "$ROOT"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
ST_TIMEOUT="${SCHEMATHESIS_TIMEOUT:-900}"
ST="$PEERS_VENV/bin/schemathesis"
PY="$PEERS_VENV/bin/python"

if [[ ! -x "$ST" ]]; then
  echo "schemathesis.sh: $ST not found; run scripts/peers/install.sh first" >&2
  exit 1
fi
if [[ ! -x "$VENDROME_BIN" ]]; then
  echo "schemathesis.sh: server binary $VENDROME_BIN not found (cargo build -p vendrome-cli?)" >&2
  exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendrome-schemathesis.XXXXXX")"
SERVER_LOG="$WORK/server.log"
REPORT_DIR="${SCHEMATHESIS_REPORT_DIR:-$WORK/report}"
JUNIT_FILE="$REPORT_DIR/junit.xml"
mkdir -p "$REPORT_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
SERVER_PID=""
KEEP_WORK=0

print_server_log() {
  echo "---- server log (last 80 lines of $SERVER_LOG) ----" >&2
  tail -n 80 "$SERVER_LOG" >&2 || true
  echo "---- end of server log ----" >&2
}

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 || $KEEP_WORK -eq 1 ]]; then
    echo "schemathesis.sh: kept $WORK (server log, reports)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port (tiny race window between close and the server's bind).
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"

# An admin account and a token for it, so that authenticated operations are exercised too
# (unless the caller brought its own header).
if [[ -z "${SCHEMATHESIS_AUTH_HEADER:-}" ]]; then
  export VENDROME_DATA_DIR="$WORK/data"
  "$VENDROME_BIN" migrate up >/dev/null
  echo "schemathesis-admin-passphrase" | "$VENDROME_BIN" users create --email schemathesis-admin@example.com --admin >/dev/null
  SCHEMATHESIS_AUTH_HEADER="Authorization: Bearer $("$VENDROME_BIN" users token --email schemathesis-admin@example.com)"
  unset VENDROME_DATA_DIR
  echo "schemathesis.sh: authenticated as an admin created for this run"
fi

# Calendar credentials can be sealed, and Google and Microsoft connections started (the start
# only builds the authorization URL; no request leaves the machine): the connect operations
# answer as on a configured server instead of 503 `calendar_provider_not_configured`.
export VENDROME_CALENDAR_KEYS="${VENDROME_CALENDAR_KEYS:-$("$VENDROME_BIN" calendar generate-key)}"
export VENDROME_PUBLIC_URL="${VENDROME_PUBLIC_URL:-$BASE}"
export VENDROME_CALENDAR_GOOGLE_CLIENT_ID="${VENDROME_CALENDAR_GOOGLE_CLIENT_ID:-schemathesis-client}"
export VENDROME_CALENDAR_GOOGLE_CLIENT_SECRET="${VENDROME_CALENDAR_GOOGLE_CLIENT_SECRET:-schemathesis-secret}"
export VENDROME_CALENDAR_MICROSOFT_CLIENT_ID="${VENDROME_CALENDAR_MICROSOFT_CLIENT_ID:-schemathesis-client}"
export VENDROME_CALENDAR_MICROSOFT_CLIENT_SECRET="${VENDROME_CALENDAR_MICROSOFT_CLIENT_SECRET:-schemathesis-secret}"

echo "schemathesis.sh: starting $VENDROME_BIN serve --bind 127.0.0.1:$PORT (log: $SERVER_LOG)"
"$VENDROME_BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

# Wait for GET /readyz (60 s): the database answers and the search index is built.
deadline=$((SECONDS + 60))
until "$PY" - "$BASE/readyz" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server exited before answering /readyz" >&2
    print_server_log
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "schemathesis.sh: the server was not ready at GET $BASE/readyz within 60 s" >&2
    print_server_log
    exit 1
  fi
  sleep 0.5
done
echo "schemathesis.sh: server up at $BASE"

args=(
  run "$BASE/v1/openapi.json"
  --url "$BASE"
  # Every check runs (schemathesis 4 enables all by default); the few exceptions are per
  # operation, each with its reason, in scripts/peers/schemathesis.toml. (`--checks all` on the
  # command line would override them.)
  --max-examples "$MAX_EXAMPLES"
  --workers 2
  --request-timeout 10
  --generation-database none
  --report junit
  --report-dir "$REPORT_DIR"
  --report-junit-path "$JUNIT_FILE"
)
if [[ -n "${SCHEMATHESIS_SEED:-}" ]]; then
  args+=(--seed "$SCHEMATHESIS_SEED")
fi
if [[ -n "${SCHEMATHESIS_EXTRA_ARGS:-}" ]]; then
  # shellcheck disable=SC2206  # word splitting wanted
  args+=(${SCHEMATHESIS_EXTRA_ARGS})
fi
shown="schemathesis ${args[*]}"
if [[ -n "${SCHEMATHESIS_AUTH_HEADER:-}" ]]; then
  args+=(--header "$SCHEMATHESIS_AUTH_HEADER")
  shown+=" --header '${SCHEMATHESIS_AUTH_HEADER%%:*}: <redacted>'"
fi
echo "schemathesis.sh: $shown"

st_global=(--no-color)
if [[ -f "$ROOT/scripts/peers/schemathesis.toml" ]]; then
  st_global+=(--config-file "$ROOT/scripts/peers/schemathesis.toml")
fi

st_rc=0
# Run from the work dir so nothing (e.g. .hypothesis/) lands in the repo.
(cd "$WORK" && NO_COLOR=1 timeout --kill-after=10 "$ST_TIMEOUT" "$ST" "${st_global[@]}" "${args[@]}") || st_rc=$?

if [[ $st_rc -ne 0 ]]; then
  if [[ $st_rc -eq 124 || $st_rc -eq 137 ]]; then
    echo "schemathesis.sh: schemathesis did not finish within ${ST_TIMEOUT}s" >&2
  fi
  echo "schemathesis.sh: FAILED (schemathesis exit $st_rc); JUnit report: $JUNIT_FILE" >&2
  print_server_log
  exit 1
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "schemathesis.sh: the server died during the run" >&2
  print_server_log
  exit 1
fi
if [[ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]]; then
  echo "schemathesis.sh: ok (JUnit report: $JUNIT_FILE)"
else
  echo "schemathesis.sh: ok"
fi
