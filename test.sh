#!/usr/bin/env bash
# Runs the whole test suite (installs prerequisites and builds first). Prints "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --with-test-tools
log=$(mktemp)
set +e
dotnet test tests/Pretext.Tests -c Release --no-build -nologo 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
line=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+" "$log" | tail -n 1)
failed=$(echo "$line" | sed -E 's/.*Failed: +([0-9]+),.*/\1/')
passed=$(echo "$line" | sed -E 's/.*Passed: +([0-9]+),.*/\1/')
skipped=$(echo "$line" | sed -E 's/.*Skipped: +([0-9]+),.*/\1/')
rm -f "$log"
if [ -z "$line" ]; then echo "error: no test summary found (build or runner failure)" >&2; exit 1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $rc
