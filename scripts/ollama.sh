#!/usr/bin/env bash
# Builds (or reuses) a CPU-only Ollama from its Go module and prints the
# binary's path on stdout; progress goes to stderr.
#
# Ollama is built with cgo from the module proxy rather than downloaded as a
# release so that CI needs no network beyond the Go proxy and Debian. Its
# module zip leaves out llama.cpp's vendor directory; the one header cgo then
# misses, miniaudio/miniaudio.h, ships in the malgo module.
#
# The binary and the Go build cache for it live outside the repository
# (HALLU_OLLAMA_CACHE, default ~/.cache/hallu/ollama-VERSION) so a fresh clone
# reuses them and the cold build (minutes) happens once per machine.
set -euo pipefail

OLLAMA_VERSION="${OLLAMA_VERSION:-v0.17.4}"
MALGO_VERSION="${MALGO_VERSION:-v0.11.24}"
GO="${GO:-go}"
cache="${HALLU_OLLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hallu/ollama-$OLLAMA_VERSION}"
bin="$cache/bin/ollama"

log() { echo "ollama.sh: $*" >&2; }

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

# cgo needs a C/C++ toolchain and two header-only libraries llama.cpp uses.
missing=()
for p in build-essential nlohmann-json3-dev libstb-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  s=""; [ "$(id -u)" -eq 0 ] || s=sudo
  $s apt-get update -qq >&2
  $s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

mkdir -p "$cache/include/miniaudio" "$cache/bin" "$cache/gocache"

# go mod download runs outside any module so neither hallu's go.mod nor the
# integration module is touched.
malgo_dir="$(cd "$cache" && "$GO" mod download -json "github.com/gen2brain/malgo@$MALGO_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [ -z "$malgo_dir" ] || [ ! -f "$malgo_dir/miniaudio.h" ]; then
  log "miniaudio.h not found in malgo $MALGO_VERSION (dir: ${malgo_dir:-none})"
  exit 1
fi
cp "$malgo_dir/miniaudio.h" "$cache/include/miniaudio/miniaudio.h"
chmod u+w "$cache/include/miniaudio/miniaudio.h"

log "building ollama $OLLAMA_VERSION into $cache/bin (cold: several minutes)"
start=$(date +%s)
(
  cd "$cache"
  export CGO_ENABLED=1
  export CGO_CPPFLAGS="-I$cache/include ${CGO_CPPFLAGS:-}"
  export GOBIN="$cache/bin"
  export GOCACHE="$cache/gocache"
  export GOFLAGS=-buildvcs=false
  # Without cgo's default -g and at -O1, llama.cpp compiles in about 60% of
  # the CPU time (8 against 14 CPU-minutes measured); the tests' models are
  # tiny, so the runner's speed does not matter.
  export CGO_CFLAGS="${CGO_CFLAGS:--O1}" CGO_CXXFLAGS="${CGO_CXXFLAGS:--O1}"
  # The version string is normally stamped by Ollama's release scripts.
  "$GO" install -ldflags "-X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" \
    "github.com/ollama/ollama@$OLLAMA_VERSION" >&2
)
log "built in $(( $(date +%s) - start ))s"
"$bin" --version >&2 || true
echo "$bin"
