# Sourced by scripts/peers/*.sh: where the peer tools live (outside the clone).
# shellcheck shell=bash
PEERS_DIR="${VENDROME_PEERS_DIR:-${HOME:-/tmp}/.cache/vendrome-peers}"
PEERS_VENV="$PEERS_DIR/venv"
PEERS_NPM="$PEERS_DIR/npm"
# oauth2-mock-server for the OAuth API tests (its own npm project; the tests look here too).
PEERS_OAUTH_MOCK="$PEERS_DIR/oauth-mock"
# playwright-core for the chat page's browser test (scripts/peers/chat-e2e/).
PEERS_CHAT="$PEERS_DIR/chat-e2e"
export PEERS_DIR PEERS_VENV PEERS_NPM PEERS_OAUTH_MOCK PEERS_CHAT
