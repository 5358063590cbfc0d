#!/usr/bin/env bash
# Starts the cluster production runs: INSTANCES (3) `vendrome serve` on one PostgreSQL database,
# NATS (realtime frames between instances) and Valkey (rate limits, presence, typing), behind
# nginx (Debian's package, installed with apt-get when missing) on one port. Idempotent: a
# running cluster is stopped first. scripts/cluster/down.sh stops it.
#
# Writes $CLUSTER_DIR/env with what clients and tests need:
#   VENDROME_BASE_URL, VENDROME_SIGNING_KEYS, VENDROME_TEST_ADMIN_EMAIL/PASSWORD
#
# Env:
#   CLUSTER_DIR     state, logs and pid files (default: ${TMPDIR:-/tmp}/vendrome-cluster)
#   CLUSTER_PORT    nginx's port (default 18080); instances listen on the next ports
#   INSTANCES       how many instances (default 3)
#   CLUSTER_DB      PostgreSQL database, created afresh (default vendrome_cluster)
#   CLUSTER_VALKEY_DB  Valkey database number, emptied at start (default 7)
#   VENDROME_BIN    the binary (default: $CARGO_TARGET_DIR/release or debug build of vendrome-cli)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/cluster"
CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/vendrome-cluster}"
CLUSTER_PORT="${CLUSTER_PORT:-18080}"
INSTANCES="${INSTANCES:-3}"
CLUSTER_DB="${CLUSTER_DB:-vendrome_cluster}"
CLUSTER_VALKEY_DB="${CLUSTER_VALKEY_DB:-7}"
PG="postgres://postgres@127.0.0.1:5432"

"$HERE/down.sh" >/dev/null 2>&1 || true
mkdir -p "$CLUSTER_DIR"

if [[ -z "${VENDROME_BIN:-}" ]]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vendrome/target}"
  (cd "$ROOT" && cargo build -q -p vendrome-cli)
  VENDROME_BIN="$CARGO_TARGET_DIR/debug/vendrome"
fi

if ! command -v nginx >/dev/null 2>&1; then
  echo "cluster: installing Debian's nginx (apt-get)"
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null
fi
NGINX="$(command -v nginx)"

for check in "pg_isready -q -h 127.0.0.1 -p 5432" "redis-cli -h 127.0.0.1 -p 6379 ping" "bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222'"; do
  eval "$check" >/dev/null 2>&1 || { echo "cluster: needs PostgreSQL, Valkey/Redis and NATS on 127.0.0.1 (failed: $check)" >&2; exit 1; }
done

echo "cluster: database $CLUSTER_DB (fresh), Valkey db $CLUSTER_VALKEY_DB (emptied)"
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $CLUSTER_DB WITH (FORCE)" -c "CREATE DATABASE $CLUSTER_DB" >/dev/null
redis-cli -h 127.0.0.1 -p 6379 -n "$CLUSTER_VALKEY_DB" flushdb >/dev/null

SIGNING_KEYS="kcluster:$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')"
export VENDROME_DATABASE_URL="$PG/$CLUSTER_DB"
export VENDROME_NATS_URL="nats://127.0.0.1:4222"
export VENDROME_VALKEY_URL="redis://127.0.0.1:6379/$CLUSTER_VALKEY_DB"
export VENDROME_SIGNING_KEYS="$SIGNING_KEYS"
# nginx is the only proxy; the instances trust its X-Forwarded-For.
export VENDROME_TRUSTED_PROXIES="127.0.0.1/32"

# Migrations once, before any instance starts (instances start with --no-migrate).
"$VENDROME_BIN" migrate up >"$CLUSTER_DIR/migrate.log" 2>&1 || { cat "$CLUSTER_DIR/migrate.log"; exit 1; }
ADMIN_EMAIL="admin@example.com"
ADMIN_PASSWORD="an admin cluster passphrase"
printf '%s\n' "$ADMIN_PASSWORD" | "$VENDROME_BIN" users create --email "$ADMIN_EMAIL" --admin >/dev/null

upstreams=""
for i in $(seq 1 "$INSTANCES"); do
  port=$((CLUSTER_PORT + i))
  mkdir -p "$CLUSTER_DIR/instance-$i"
  VENDROME_DATA_DIR="$CLUSTER_DIR/instance-$i" RUST_LOG="${RUST_LOG:-warn}" \
    setsid "$VENDROME_BIN" serve --no-migrate --bind "127.0.0.1:$port" \
    >"$CLUSTER_DIR/instance-$i.log" 2>&1 </dev/null &
  echo $! >"$CLUSTER_DIR/instance-$i.pid"
  upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
done

for i in $(seq 1 "$INSTANCES"); do
  port=$((CLUSTER_PORT + i))
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { tail -n 30 "$CLUSTER_DIR/instance-$i.log" >&2; exit 1; }
done

python3 - "$HERE/nginx.conf.template" "$CLUSTER_DIR/nginx.conf" "$CLUSTER_DIR" "$CLUSTER_PORT" "$upstreams" <<'PY'
import sys
template, out, directory, port, upstreams = sys.argv[1:]
text = open(template).read()
text = text.replace("@DIR@", directory).replace("@PORT@", port).replace("@UPSTREAMS@", upstreams.rstrip("\n"))
open(out, "w").write(text)
PY
"$NGINX" -t -q -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e "$CLUSTER_DIR/nginx-error.log"
"$NGINX" -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e "$CLUSTER_DIR/nginx-error.log"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$CLUSTER_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$CLUSTER_PORT/readyz" >/dev/null

cat >"$CLUSTER_DIR/env" <<ENV
export VENDROME_BASE_URL=http://127.0.0.1:$CLUSTER_PORT
export VENDROME_SIGNING_KEYS=$SIGNING_KEYS
export VENDROME_TEST_ADMIN_EMAIL=$ADMIN_EMAIL
export VENDROME_TEST_ADMIN_PASSWORD='$ADMIN_PASSWORD'
ENV
echo "cluster: $INSTANCES instances behind nginx on http://127.0.0.1:$CLUSTER_PORT (state in $CLUSTER_DIR)"
