#!/usr/bin/env bash
# The Stripe adapter against its peers: localstripe (PyPI), a stateful fake of Stripe's API that
# signs its webhooks like Stripe, and Stripe's own Python library, whose
# `stripe.WebhookSignature.generate_signature_header` makes the headers our verifier must accept.
# Installs both in their own venv, starts localstripe on a free port (and registers a webhook
# endpoint for the test to listen on), writes the Python library's headers to a JSON file, and
# runs the ignored test binary `stripe_peer` against them, one test at a time (the checkout test
# reconciles a window of localstripe's balance that only it may write to).
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

LOCALSTRIPE_VERSION="${LOCALSTRIPE_VERSION:-1.15.10}"
STRIPE_PY_VERSION="${STRIPE_PY_VERSION:-16.1.0}"
STRIPE_VENV="$PEERS_DIR/stripe-venv"
WEBHOOK_SECRET="whsec_vendrome_peer"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

venv_ok() {
  [[ -x "$STRIPE_VENV/bin/localstripe" ]] &&
    "$STRIPE_VENV/bin/python" - "$LOCALSTRIPE_VERSION" "$STRIPE_PY_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import stripe  # noqa: F401
sys.exit(0 if (version("localstripe"), version("stripe")) == (sys.argv[1], sys.argv[2]) else 1)
PY
}

mkdir -p "$PEERS_DIR"
if ! venv_ok; then
  echo "peers: installing localstripe==$LOCALSTRIPE_VERSION stripe==$STRIPE_PY_VERSION into $STRIPE_VENV"
  [[ -x "$STRIPE_VENV/bin/python" ]] || "$PYTHON" -m venv "$STRIPE_VENV"
  "$STRIPE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "localstripe==$LOCALSTRIPE_VERSION" "stripe==$STRIPE_PY_VERSION"
  venv_ok || { echo "peers: the stripe venv is not usable after install" >&2; exit 1; }
fi
PY="$STRIPE_VENV/bin/python"

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
API_PORT="$(free_port)"
HOOK_PORT="$(free_port)"
while [[ "$HOOK_PORT" == "$API_PORT" ]]; do HOOK_PORT="$(free_port)"; done

work="$(mktemp -d "${TMPDIR:-/tmp}/vendrome-stripe.XXXXXX")"
localstripe_pid=""
cleanup() {
  if [[ -n "$localstripe_pid" ]]; then kill "$localstripe_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$STRIPE_VENV/bin/localstripe" --port "$API_PORT" --from-scratch >"$work/localstripe.log" 2>&1 &
localstripe_pid=$!

# Wait until it answers (30 s at most), then register the endpoint the test will listen on.
"$PY" - "$API_PORT" "$HOOK_PORT" "$WEBHOOK_SECRET" "$localstripe_pid" <<'PY' || { cat "$work/localstripe.log" >&2; exit 1; }
import base64, os, sys, time, urllib.error, urllib.parse, urllib.request

api, hook, secret, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
auth = "Basic " + base64.b64encode(b"sk_test_vendrome:").decode()
deadline = time.monotonic() + 30
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("peers: localstripe exited before answering")
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{api}/v1/balance_transactions",
                                         headers={"Authorization": auth})
        urllib.request.urlopen(request, timeout=2).read()
        break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            sys.exit("peers: localstripe did not answer within 30 s")
        time.sleep(0.1)
form = urllib.parse.urlencode([
    ("url", f"http://127.0.0.1:{hook}/"),
    ("secret", secret),
    ("events[]", "payment_intent.succeeded"),
    ("events[]", "payment_intent.payment_failed"),
]).encode()
urllib.request.urlopen(urllib.request.Request(
    f"http://127.0.0.1:{api}/_config/webhooks/vendrome", data=form,
    headers={"Authorization": auth}), timeout=5).read()
PY
echo "peers: localstripe answers on port $API_PORT"

# Headers made by Stripe's library for a few bodies, secrets and timestamps.
"$PY" - >"$work/headers.json" <<'PY'
import json
import stripe

secrets = ["whsec_test_secret", "whsec_" + "a1B2" * 8, "whsec_with.punctuation-_~"]
timestamps = [1_700_000_000, 1_790_000_000, 1_800_000_123]
bodies = []
for n, kind in enumerate(["payment_intent.succeeded", "payment_intent.payment_failed",
                          "refund.updated", "customer.created"]):
    obj = {"id": f"pi_peer{n}", "object": "payment_intent", "amount": 1000 + n,
           "currency": "zar", "status": "succeeded", "metadata": {"payment_id": f"p{n}"}}
    if kind.startswith("refund."):
        obj = {"id": f"re_peer{n}", "object": "refund", "amount": 100, "currency": "zar",
               "status": "succeeded", "payment_intent": "pi_peer0"}
    event = {"id": f"evt_peer{n}", "object": "event", "type": kind, "created": 1_700_000_000,
             "data": {"object": obj}}
    # One compact, one pretty-printed with non-ASCII text: the bytes are what is signed.
    bodies.append(json.dumps(event, separators=(",", ":")) if n % 2 == 0
                  else json.dumps({**event, "note": "Kaapstad — R10,00"}, indent=2,
                                  ensure_ascii=False))
cases = []
for body in bodies:
    for secret in secrets:
        for t in timestamps:
            cases.append({
                "body": body, "secret": secret, "timestamp": t,
                "header": stripe.WebhookSignature.generate_signature_header(body, secret, t),
            })
json.dump(cases, __import__("sys").stdout)
PY
echo "peers: $("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/headers.json") headers from stripe $STRIPE_PY_VERSION"

cd "$ROOT"
VENDROME_STRIPE_API_BASE="http://127.0.0.1:$API_PORT" \
VENDROME_STRIPE_SECRET_KEY="sk_test_vendrome" \
VENDROME_STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
VENDROME_STRIPE_PEER_HOOK_PORT="$HOOK_PORT" \
VENDROME_STRIPE_PEER_HEADERS="$work/headers.json" \
  cargo test -p vendrome-payments --test stripe_peer -- --ignored --test-threads=1
