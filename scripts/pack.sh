#!/usr/bin/env bash
# Packs the library (Pretext), the ML.NET featurizer (Pretext.MLNet) and the dotnet tool (Pretext.Cli, command `pretext`) into a local folder feed.
#   scripts/pack.sh [--out DIR] [--no-build] [--configuration Release|Debug] [--version V]
# DIR defaults to artifacts/packages. Install the tool from it with
#   dotnet tool install --global --add-source artifacts/packages Pretext.Cli
# --version sets the packages' version (default: Directory.Build.props's). --no-build packs the build that is already
# there (scripts/setup.sh makes it); the test that installs the packages uses it, so packing does not rebuild under a
# running test host. See docs/packages.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/packages
build=()
configuration=Release
version=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --no-build) build=(--no-build); shift ;;
    --configuration) configuration="$2"; shift 2 ;;
    --version) version=("-p:PackageVersion=$2"); shift 2 ;;
    *) echo "error: unknown option '$1'; usage: scripts/pack.sh [--out DIR] [--no-build] [--configuration Release|Debug] [--version V]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
for project in src/Pretext/Pretext.csproj src/Pretext.MLNet/Pretext.MLNet.csproj src/Pretext.Cli/Pretext.Cli.csproj; do
  set +e
  dotnet pack "$project" -c "$configuration" -o "$out" -v quiet -nologo "${build[@]}" "${version[@]}" 2>&1 | grep -vE "^\s*$|warning NU1603"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || { echo "error: packing $project failed (above)." >&2; exit 1; }
done
ls -1 "$out"/*.nupkg
