#!/usr/bin/env bash
# One-time, idempotent set-up for a fresh Debian machine: the outside programs termshare drives,
# then the npm packages. Safe to run again: what is present is left alone.
#   apt: nats-server tmux tmate openssh-client asciinema (and util-linux for setpriv), chromium (the panel's browser tests)
#   Go module proxy: upterm + uptermd (tools/upterm), into $TERMSHARE_TOOLS_BIN
#   crates.io: zellij (scripts/install-zellij.sh), into $TERMSHARE_ZELLIJ_ROOT/bin
#   npm packages, then dist/ (scripts/build.mjs, skipped when newer than src/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
for pair in nats-server:nats-server tmux:tmux tmate:tmate ssh:openssh-client ssh-keygen:openssh-client setpriv:util-linux chromium:chromium asciinema:asciinema; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
fi

command -v go >/dev/null 2>&1 || { echo "setup: Go 1.26+ is needed to build upterm (apt's golang is too old)" >&2; exit 1; }
bash scripts/install-upterm.sh >/dev/null
# zellij: built from crates.io once (about 14 min on 2 cores), then cached outside the checkout.
# A run spends at most TERMSHARE_ZELLIJ_BUILD_BUDGET seconds on it; an unfinished build goes on at the
# next run (zellij: terminals are refused with the install step until it is there).
bash scripts/install-zellij.sh >/dev/null || echo "setup: zellij is not built yet; the next \`npm run setup\` goes on with it" >&2

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The compiled CLI (dist/): bin/termshare.js runs it while it is newer than src/ (a call in ~0.1 s, not ~1 s through tsx).
node scripts/build.mjs
echo "setup: ready (upterm in ${TERMSHARE_TOOLS_BIN:-$HOME/.local/share/termshare/bin})" >&2
