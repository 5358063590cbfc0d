# Sourced by scripts/peers/typescript.sh and sdk.sh: installs contracts/ts-client's own npm
# dependencies (openapi-fetch, vitest, …) from its lockfile with `npm ci`, skipped when the
# stamp says the same package.json and lockfile are installed. tsc resolves the package's
# imports from contracts/ts-client/node_modules, so a fresh clone needs this before either.
# shellcheck shell=bash
ts_client_deps() {
  local pkg="$1" stamp want
  stamp="$pkg/node_modules/.installed-lock.sha256"
  want="$(cat "$pkg/package.json" "$pkg/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "ts-client: npm dependencies already installed"
  else
    echo "ts-client: npm ci in contracts/ts-client"
    (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
}
