#!/usr/bin/env bash
# benchmarks/train_throughput.sh [--repeats N] [--threads N] [--batch N]
#
# Training throughput side by side: LeNet-5, one epoch of Fashion-MNIST, batch 64, Adam, 2 threads,
# in PyTorch (Debian's /usr/bin/python3 with python3-torch) and with `cnn train --epochs 1 --batch 64`,
# 3 runs each (alternating), medians and the ratio ours/torch; writes docs/training-throughput.md.
# Builds the native core (./build.sh native) and the CLI (Release) first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${CNN_PYTHON:-/usr/bin/python3}"

if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
  echo "error: $PYTHON cannot import torch and numpy; install Debian's: sudo apt-get install python3-torch python3-numpy" >&2
  exit 2
fi

"$ROOT/build.sh" native
dotnet build "$ROOT/src/CnnNative.Cli/CnnNative.Cli.csproj" -c Release -nologo -v quiet
exec "$PYTHON" "$ROOT/benchmarks/train_throughput.py" "$@"
