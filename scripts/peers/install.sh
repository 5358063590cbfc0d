#!/usr/bin/env bash
# Installs the external "peer" tools used by the contract checks into a cache
# outside the repo clone (idempotent; a warm run does no network work):
#   - a Python venv with schemathesis (PyPI), pinned below;
#   - an npm project with openapi-typescript + typescript, installed with
#     `npm ci` from contracts/ts-client/package-lock.json (the pins live there);
#   - a second npm project with oauth2-mock-server, the OpenID Connect server the
#     OAuth API tests start, installed with `npm ci` from scripts/peers/oauth-mock/;
#   - a third with playwright-core (scripts/peers/chat-e2e/), and Debian's chromium
#     (apt-get) that it drives, for the chat page's browser test.
#
# Env:
#   VENDROME_PEERS_DIR  cache dir (default: $HOME/.cache/vendrome-peers)
#   PYTHON              python interpreter for the venv (default: python3.11, else python3)
#
# The other scripts/peers/*.sh find the tools through the same VENDROME_PEERS_DIR
# (see scripts/peers/env.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

mkdir -p "$PEERS_DIR"

# ---------------------------------------------------------------- python ---
if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

venv_ok() {
  [[ -x "$PEERS_VENV/bin/python" ]] &&
    "$PEERS_VENV/bin/python" - "$SCHEMATHESIS_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import schemathesis  # noqa: F401  (must be importable, not just listed)
sys.exit(0 if version("schemathesis") == sys.argv[1] else 1)
PY
}

if venv_ok; then
  echo "peers: schemathesis $SCHEMATHESIS_VERSION already installed in $PEERS_VENV"
else
  echo "peers: installing schemathesis==$SCHEMATHESIS_VERSION into $PEERS_VENV"
  if [[ ! -x "$PEERS_VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$PEERS_VENV"
  fi
  "$PEERS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
  venv_ok || { echo "peers: schemathesis $SCHEMATHESIS_VERSION not importable after install" >&2; exit 1; }
fi

# ------------------------------------------------------------------- npm ---
# The npm project lives in the cache: package.json + package-lock.json are
# copied from contracts/ts-client/ and installed with `npm ci`; a stamp holding
# the lockfile hash skips the install when nothing changed.
src_pkg="$ROOT/contracts/ts-client/package.json"
src_lock="$ROOT/contracts/ts-client/package-lock.json"
stamp="$PEERS_NPM/.installed-lock.sha256"
want="$(cat "$src_pkg" "$src_lock" | sha256sum | cut -d' ' -f1)"

npm_ok() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    [[ -x "$PEERS_NPM/node_modules/.bin/openapi-typescript" && -x "$PEERS_NPM/node_modules/.bin/tsc" ]]
}

if npm_ok; then
  echo "peers: npm tools already installed in $PEERS_NPM"
else
  echo "peers: installing npm tools (npm ci) into $PEERS_NPM"
  mkdir -p "$PEERS_NPM"
  cp "$src_pkg" "$src_lock" "$PEERS_NPM/"
  rm -f "$stamp"
  (cd "$PEERS_NPM" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi

# ------------------------------------------------------------ oauth mock ---
# Same scheme, from scripts/peers/oauth-mock/ into $PEERS_OAUTH_MOCK; the tests run
# scripts/peers/oauth-mock/server.mjs with that folder's node_modules.
mock_src="$ROOT/scripts/peers/oauth-mock"
mock_stamp="$PEERS_OAUTH_MOCK/.installed-lock.sha256"
mock_want="$(cat "$mock_src/package.json" "$mock_src/package-lock.json" | sha256sum | cut -d' ' -f1)"

mock_ok() {
  [[ -f "$mock_stamp" && "$(cat "$mock_stamp")" == "$mock_want" ]] &&
    [[ -f "$PEERS_OAUTH_MOCK/node_modules/oauth2-mock-server/package.json" ]]
}

if mock_ok; then
  echo "peers: oauth2-mock-server already installed in $PEERS_OAUTH_MOCK"
else
  echo "peers: installing oauth2-mock-server (npm ci) into $PEERS_OAUTH_MOCK"
  mkdir -p "$PEERS_OAUTH_MOCK"
  cp "$mock_src/package.json" "$mock_src/package-lock.json" "$PEERS_OAUTH_MOCK/"
  rm -f "$mock_stamp"
  (cd "$PEERS_OAUTH_MOCK" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$mock_want" >"$mock_stamp"
fi

# -------------------------------------------------------- chat browser test ---
chat_src="$ROOT/scripts/peers/chat-e2e"
chat_stamp="$PEERS_CHAT/.installed-lock.sha256"
chat_want="$(cat "$chat_src/package.json" "$chat_src/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$chat_stamp" && "$(cat "$chat_stamp")" == "$chat_want" && -f "$PEERS_CHAT/node_modules/playwright-core/package.json" ]]; then
  echo "peers: playwright-core already installed in $PEERS_CHAT"
else
  echo "peers: installing playwright-core (npm ci) into $PEERS_CHAT"
  mkdir -p "$PEERS_CHAT"
  cp "$chat_src/package.json" "$chat_src/package-lock.json" "$PEERS_CHAT/"
  rm -f "$chat_stamp"
  (cd "$PEERS_CHAT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$chat_want" >"$chat_stamp"
fi
# playwright cannot download its own browser here: Debian's chromium it is.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "peers: installing Debian's chromium (apt-get)"
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# --------------------------------------------------------------- summary ---
echo "peers: schemathesis     $("$PEERS_VENV/bin/python" -c 'from importlib.metadata import version; print(version("schemathesis"))')  ($PEERS_VENV/bin/schemathesis)"
echo "peers: openapi-typescript $(node -p "require('$PEERS_NPM/node_modules/openapi-typescript/package.json').version")  ($PEERS_NPM/node_modules/.bin/openapi-typescript)"
echo "peers: typescript       $(node -p "require('$PEERS_NPM/node_modules/typescript/package.json').version")  ($PEERS_NPM/node_modules/.bin/tsc)"
echo "peers: playwright-core $(node -p "require('$PEERS_CHAT/node_modules/playwright-core/package.json').version")  ($PEERS_CHAT), $(/usr/bin/chromium --version)"
echo "peers: oauth2-mock-server $(node -p "require('$PEERS_OAUTH_MOCK/node_modules/oauth2-mock-server/package.json').version")  ($PEERS_OAUTH_MOCK)"
