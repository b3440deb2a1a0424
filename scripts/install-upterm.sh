#!/usr/bin/env bash
# Build the real upterm and uptermd (github.com/owenthereal/upterm, version pinned in
# tools/upterm/go.mod) from the Go module proxy into $TERMSHARE_TOOLS_BIN.
#
#   TERMSHARE_TOOLS_BIN  where the binaries go (default: $HOME/.local/share/termshare/bin)
#   GOCACHE / GOMODCACHE Go's own caches; both default to places under $HOME, outside the checkout
#   --force              rebuild even if both binaries already report the pinned version
#
# Idempotent: when both binaries exist and report the pinned version, nothing is built.
# Prints the bin directory on stdout as its last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_mod="$repo_root/tools/upterm"
bin_dir="${TERMSHARE_TOOLS_BIN:-$HOME/.local/share/termshare/bin}"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-upterm: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "install-upterm: $*" >&2; }

command -v go >/dev/null 2>&1 || { log "go not found on PATH"; exit 1; }

# Pinned version, read from go.mod so that there is one place to change it.
version="$(sed -nE 's#^[[:space:]]*(require[[:space:]]+)?github\.com/owenthereal/upterm[[:space:]]+v([^[:space:]]+).*#\2#p' "$tools_mod/go.mod" | head -n1)"
[ -n "$version" ] || { log "cannot read the upterm version from $tools_mod/go.mod"; exit 1; }

have_version() { # $1 = binary name; its `version` subcommand prints e.g. "Upterm version 0.24.0"
  local out
  [ -x "$bin_dir/$1" ] || return 1
  out="$("$bin_dir/$1" version 2>/dev/null)" || return 1
  [[ "$out" =~ (^|[[:space:]])v?${version//./\\.}([[:space:]]|$) ]]
}

if [ "$force" = 0 ] && have_version upterm && have_version uptermd; then
  log "upterm and uptermd $version already in $bin_dir"
  echo "$bin_dir"
  exit 0
fi

# Keep Go's caches out of the checkout even if the caller pointed them into it.
for var in GOCACHE GOMODCACHE; do
  val="$(go env "$var")"
  case "$val/" in
    "$repo_root"/*) log "$var=$val is inside the checkout; using the default under \$HOME"; 
      if [ "$var" = GOCACHE ]; then export GOCACHE="${XDG_CACHE_HOME:-$HOME/.cache}/go-build"
      else export GOMODCACHE="$HOME/go/pkg/mod"; fi ;;
  esac
done

# go.sum is committed, so no sum-database look-up is needed; the sftp fork is not in the sum
# database at all, so exempt it should a go.sum line ever be missing.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/owenthereal/sftp"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

mkdir -p "$bin_dir"
stage="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

pkg=github.com/owenthereal/upterm
ldflags="-s -w -X $pkg/internal/version.Version=$version"
log "building upterm and uptermd $version into $bin_dir"
start=$SECONDS
go -C "$tools_mod" build -mod=readonly -trimpath -ldflags "$ldflags" -o "$stage/" \
  "$pkg/cmd/upterm" "$pkg/cmd/uptermd"
mv -f "$stage/upterm" "$bin_dir/upterm"
mv -f "$stage/uptermd" "$bin_dir/uptermd"

have_version upterm && have_version uptermd || { log "built binaries do not report version $version"; exit 1; }
log "built in $((SECONDS - start))s"
echo "$bin_dir"
