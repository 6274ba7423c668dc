#!/usr/bin/env bash
# Reproduces the method tables of docs/benchmarks.md: every registered method on Fashion-MNIST and MNIST,
# the same encoder and the same wall-clock budget per row, plus the baseline rows. About
# (methods + 4) x (minutes + ~3) minutes per data set on the 2-core reference machine; finished rows are
# kept under bench/runs/<dataset>/rows.jsonl, so an interrupted run continues where it stopped.
#   bench/methods.sh [--minutes 10] [--methods all|simclr,byol] [--redo byol,simsiam] [--fresh]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
dotnet build bench/Pretext.Bench -c Release 2>&1 | grep -E " error |rror\(s\)" || true
BIN=bench/Pretext.Bench/bin/Release/net10.0/linux-x64/Pretext.Bench
./pretext data get mnist >/dev/null
for ds in fashion-mnist mnist; do
  "$BIN" methods --dataset "$ds" "$@"
done
