# Sourced by scripts/peers/*.sh: where the peer tools live (outside the clone).
# shellcheck shell=bash
PEERS_DIR="${VENDROME_PEERS_DIR:-${HOME:-/tmp}/.cache/vendrome-peers}"
PEERS_VENV="$PEERS_DIR/venv"
PEERS_NPM="$PEERS_DIR/npm"
export PEERS_DIR PEERS_VENV PEERS_NPM
