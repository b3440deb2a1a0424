#!/usr/bin/env bash
# Build the real zellij (crates.io, version pinned below) once into a cache outside the checkout.
#
#   TERMSHARE_ZELLIJ_ROOT  cargo --root for the build (default: $HOME/.local/share/termshare/zellij);
#                          the binary lands in $TERMSHARE_ZELLIJ_ROOT/bin/zellij
#   TERMSHARE_ZELLIJ_BUILD_BUDGET  seconds one run may spend building (default 1500): past it the
#                          build stops with exit 3, cargo keeps what it compiled, and the next run
#                          goes on from there (a first build on a busy 2-core machine took over 2 h)
#   --force                rebuild even if the cached binary reports the pinned version
#
# The first build takes about 14 minutes on 2 idle cores (longer when the machine is busy); a
# later run finds the cached binary and takes well under a second.
# Prints the bin directory on stdout as its last line.
set -euo pipefail

version=0.45.1
root="${TERMSHARE_ZELLIJ_ROOT:-$HOME/.local/share/termshare/zellij}"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-zellij: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
log() { echo "install-zellij: $*" >&2; }

have_version() { [ -x "$root/bin/zellij" ] && [ "$("$root/bin/zellij" --version 2>/dev/null)" = "zellij $version" ]; }

if [ "$force" = 0 ] && have_version; then
  log "zellij $version already in $root/bin"
  echo "$root/bin"
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { log "cargo not found: install Rust (rustup) to build zellij"; exit 1; }

# Cargo's own target dir stays outside the checkout and is kept, so an interrupted build resumes.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/.target}"
log "building zellij $version into $root (first build: about 14 min on 2 cores)"
start=$SECONDS
budget="${TERMSHARE_ZELLIJ_BUILD_BUDGET:-1500}"
# timeout signals cargo's whole process group (rustc included) when the budget runs out.
if ! timeout "$budget" nice -n 10 cargo install --locked --quiet --root "$root" zellij --version "$version" >&2; then
  have_version || { log "not built within ${budget}s; what was compiled is kept in $CARGO_TARGET_DIR, run again to go on"; exit 3; }
fi
have_version || { log "built zellij does not report version $version"; exit 1; }
log "built in $((SECONDS - start))s"
echo "$root/bin"
