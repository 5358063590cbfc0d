#!/usr/bin/env bash
# Every provider's notification scheme against vectors made without our code:
# scripts/peers/webhook_vectors.py signs them with Python's hmac/hashlib, the `cryptography`
# package (PayPal's RSA certificate and signature, Peach's AES-GCM) and the `standardwebhooks`
# package (Yoco), and alters them (tampered body, wrong key, expired timestamp). Then the ignored
# test `notification_vectors` must accept exactly the valid ones.
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

STANDARDWEBHOOKS_VERSION="${STANDARDWEBHOOKS_VERSION:-1.3.0}"
CRYPTOGRAPHY_VERSION="${CRYPTOGRAPHY_VERSION:-51.0.1}"
VENV="$PEERS_DIR/webhooks-venv"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

venv_ok() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "$STANDARDWEBHOOKS_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import cryptography  # noqa: F401
sys.exit(0 if version("standardwebhooks") == sys.argv[1] else 1)
PY
}

mkdir -p "$PEERS_DIR"
if ! venv_ok; then
  echo "peers: installing standardwebhooks==$STANDARDWEBHOOKS_VERSION cryptography into $VENV"
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "standardwebhooks==$STANDARDWEBHOOKS_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
  venv_ok || { echo "peers: the webhooks venv is not usable after install" >&2; exit 1; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vendrome-webhooks.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" "$ROOT/scripts/peers/webhook_vectors.py" "$work/vectors.json"

cd "$ROOT"
VENDROME_NOTIFICATION_VECTORS="$work/vectors.json" \
  cargo test -p vendrome-payments --test notification_vectors -- --ignored
