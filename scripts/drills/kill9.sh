#!/usr/bin/env bash
# The kill -9 drill of checkout's recovery points, on the real binary; PostgreSQL by default
# (VENDROME_DRILL_STORE=sqlite for the embedded file).
#
# A fake Stripe (scripts/drills/fake_stripe.py) counts PaymentIntents per Idempotency-Key and can
# hold its answer. The drill:
#   1. checkout with Idempotency-Key K while the fake holds the PaymentIntent's answer (the
#      provider call in flight: phase `started`), then `kill -9` the server;
#   2. restart, retry the checkout with K (answered 409 `idempotency_key_in_progress` until the
#      dead request's lock lapses; Retry-After is honoured): the provider sees the same key
#      again and answers the same intent (phase `provider_called`);
#   3. `kill -9` again, restart, deliver the intent's signed `payment_intent.succeeded` twice;
# then fails unless money moved once and nothing was left unfinished: one PaymentIntent at the
# provider, one ledger posting for the payment (and one more posting in the whole ledger than
# before the drill), the order paid, the buyer's only payment of it `succeeded`, and
# `vendrome ledger check` exit 0. Every wait is for an event (a file, a port, an answer), bounded.
#
# The lock in step 2 is twice the server's request deadline. The drill runs the server with a
# 5 s deadline (VENDROME_REQUEST_TIMEOUT_SECS), so the retry waits about 10 s rather than the
# minute a default server holds a dead request's key; no request of the drill comes near 5 s.
#
# Needs python3, curl and (for PostgreSQL) psql, installed with apt-get when missing and run as
# root, and for PostgreSQL a server at VENDROME_TEST_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), on which it creates and drops a database of its
# own.
# VENDROME_BIN picks the binary (default: $CARGO_TARGET_DIR/debug/vendrome, built if missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${VENDROME_BIN:-$CARGO_TARGET_DIR/debug/vendrome}"
STORE="${VENDROME_DRILL_STORE:-postgres}"
DEADLINE_SECS=5
STARTED=$SECONDS

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ "$STORE" != postgres ] || command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "kill9: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "kill9: FAILED: needs ${missing[*]}" >&2
    exit 1
  fi
fi
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q -p vendrome-cli)

WORK="$(mktemp -d)"
WEBHOOK_SECRET="whsec_drill"
SERVER_PID="" FAKE_PID="" DROP_DB=""
case "$STORE" in
  postgres)
    ADMIN_URL="${VENDROME_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    NAME="vendrome_drill_$(date +%s)_$$"
    DB="${ADMIN_URL%/*}/$NAME"
    ;;
  sqlite) DB="sqlite://$WORK/drill.db" ;;
  *) echo "kill9: VENDROME_DRILL_STORE is postgres or sqlite, not $STORE" >&2; exit 2 ;;
esac
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
  if [ -n "$DROP_DB" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf 'kill9: %s\n' "$*"; }
fail() { say "FAILED: $*"; [ -f "$WORK/server.log" ] && tail -20 "$WORK/server.log"; exit 1; }

# wait_for SECONDS COMMAND…: until COMMAND succeeds (checked every 50 ms), or fail.
wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || fail "timed out waiting for: $*"
    sleep 0.05
  done
}

if [ "$STORE" = postgres ]; then
  psql -q "$ADMIN_URL" -c "CREATE DATABASE $NAME" >/dev/null || fail "cannot create database $NAME"
  DROP_DB=1
fi

touch "$WORK/hold"
python3 "$ROOT/scripts/drills/fake_stripe.py" "$WORK/port" "$WORK/events" "$WORK/hold" &
FAKE_PID=$!
wait_for 10 test -f "$WORK/port"
STRIPE="http://127.0.0.1:$(cat "$WORK/port")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
API="http://127.0.0.1:$PORT"
say "fake Stripe at $STRIPE, server at $API, database $DB"

"$BIN" --database-url "$DB" --data-dir "$WORK/data" migrate up >/dev/null
"$BIN" --database-url "$DB" --data-dir "$WORK/data" seed fixtures >/dev/null
postings() {
  "$BIN" --database-url "$DB" --data-dir "$WORK/data" --json ledger check | json 'd["transactions"]'
}

start_server() {
  VENDROME_SIGNING_KEYS="$KEYS" VENDROME_STRIPE_SECRET_KEY=sk_test_drill \
    VENDROME_STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" VENDROME_STRIPE_API_BASE="$STRIPE" \
    VENDROME_REQUEST_TIMEOUT_SECS="$DEADLINE_SECS" RUST_LOG=info,sqlx=warn \
    "$BIN" --database-url "$DB" --data-dir "$WORK/data" serve --bind "127.0.0.1:$PORT" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for 60 curl -fs -o /dev/null "$API/readyz"
  say "server up (pid $SERVER_PID)"
}
kill_server() {
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  say "kill -9 $SERVER_PID ($1)"
  SERVER_PID=""
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
login() {
  curl -fs "$API/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"vendrome-dev-password\"}" | json 'd["data"]["access_token"]'
}

POSTINGS_BEFORE="$(postings)"
KEYS="$(python3 -c 'import base64,secrets; print("drill:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))')"
start_server
SELLER="$(login thabo.mokoena@example.com)"
BUYER="$(login amara.okafor@example.org)"
ADMIN="$(login ops@example.com)"
POST="$(curl -fs "$API/v1/posts" -H "Authorization: Bearer $SELLER" -H 'Content-Type: application/json' \
  -d '{"type":"product","body":"Drill","payload":{"title":"Lamp","price_minor":25000,"currency":"ZAR","stock_quantity":null}}' \
  | json 'd["data"]["id"]')"
ORDER="$(curl -fs "$API/v1/orders" -H "Authorization: Bearer $BUYER" -H 'Content-Type: application/json' \
  -d "{\"items\":[{\"post_id\":\"$POST\",\"quantity\":1}]}" | json 'd["data"]["id"]')"
say "order $ORDER for product $POST"

checkout() {
  curl -s -o "$WORK/checkout.json" -w '%{http_code}' "$API/v1/orders/$ORDER/checkout" \
    -H "Authorization: Bearer $BUYER" -H 'Idempotency-Key: drill-checkout-1' \
    -H 'Content-Type: application/json' -d '{"provider":"stripe"}' || true
}

# 1. The provider call in flight.
checkout >/dev/null &
CHECKOUT_PID=$!
wait_for 30 grep -qs '^create ' "$WORK/events"
say "PaymentIntent request reached the provider (held): $(head -1 "$WORK/events")"
kill_server "provider call in flight"
wait "$CHECKOUT_PID" 2>/dev/null || true
rm -f "$WORK/hold"

# 2. Restart and retry with the same key until the dead request's lock lapses.
start_server
retry_from=$SECONDS
until_ok=$((SECONDS + 90))
while :; do
  code="$(checkout)"
  [ "$code" = 201 ] && break
  [ "$code" = 409 ] || fail "retry answered $code: $(cat "$WORK/checkout.json")"
  [ "$SECONDS" -lt "$until_ok" ] || fail "the retry stayed 409 for 90 s"
  sleep 1 # Retry-After: 1
done
STATUS="$(json 'd["data"]["status"]' <"$WORK/checkout.json")"
PAYMENT="$(json 'd["data"]["id"]' <"$WORK/checkout.json")"
say "retry with the same key answered 201 after $((SECONDS - retry_from)) s: payment $PAYMENT $STATUS"

# 3. Provider answered and recorded; kill again, then the provider's webhook (twice).
kill_server "provider answered, outcome not yet known"
start_server
INTENT="$(awk '/^create /{print $3; exit}' "$WORK/events")"
BODY="$(printf '{"id":"evt_drill_1","object":"event","type":"payment_intent.succeeded","created":%s,"data":{"object":{"id":"%s","object":"payment_intent","amount":25000,"currency":"zar","status":"succeeded","metadata":{"payment_id":"%s"}}}}' "$(date +%s)" "$INTENT" "$PAYMENT")"
SIG="$(BODY="$BODY" SECRET="$WEBHOOK_SECRET" python3 -c 'import hmac,hashlib,os,time; t=str(int(time.time())); print("t="+t+",v1="+hmac.new(os.environ["SECRET"].encode(), (t+"."+os.environ["BODY"]).encode(), hashlib.sha256).hexdigest())')"
for _ in 1 2; do
  curl -fs -o /dev/null "$API/v1/payments/webhooks/stripe" -H "Stripe-Signature: $SIG" \
    -H 'Content-Type: application/json' --data-binary "$BODY" || fail "webhook refused"
done
say "delivered payment_intent.succeeded for $INTENT twice"

# Assertions: money moved once, and nothing is left unfinished.
INTENTS="$(curl -fs "$STRIPE/counts" | json 'sum(d.values())')"
[ "$INTENTS" = 1 ] || fail "the provider made $INTENTS PaymentIntents"
CREATES="$(grep -c '^create ' "$WORK/events")"
ORDER_STATUS="$(curl -fs "$API/v1/orders/$ORDER" -H "Authorization: Bearer $BUYER" | json 'd["data"]["status"]')"
[ "$ORDER_STATUS" = paid ] || fail "the order is $ORDER_STATUS"
ATTEMPTS="$(curl -fs "$API/v1/me/payments?limit=100" -H "Authorization: Bearer $BUYER" \
  | ORDER="$ORDER" json '",".join(p["status"] for p in d["data"] if p["order_id"] == __import__("os").environ["ORDER"])')"
[ "$ATTEMPTS" = succeeded ] || fail "the order's payments are [$ATTEMPTS], not one succeeded"
ENTRIES="$(curl -fs "$API/v1/admin/ledger/accounts/provider:stripe:clearing:ZAR/entries?limit=100" \
  -H "Authorization: Bearer $ADMIN" | PAYMENT="$PAYMENT" json 'sum(1 for e in d["data"] if e["payment_id"] == __import__("os").environ["PAYMENT"])')"
[ "$ENTRIES" = 1 ] || fail "$ENTRIES clearing entries for payment $PAYMENT"
kill_server "end of drill"
POSTINGS=$(($(postings) - POSTINGS_BEFORE))
[ "$POSTINGS" = 1 ] || fail "$POSTINGS ledger postings made by the drill"
"$BIN" --database-url "$DB" --data-dir "$WORK/data" ledger check >/dev/null || fail "vendrome ledger check exit $?"
say "OK on $STORE in $((SECONDS - STARTED)) s: $CREATES create calls, 1 PaymentIntent, 1 payment (succeeded), order paid, 1 ledger posting, ledger check exit 0"
