#!/usr/bin/env bash
# verify_zoo.sh — the model issue's acceptance run: every zoo architecture, exported by PyTorch both as a
# safetensors state dict and as ONNX, checked with `cnn verify` (CnnNative vs libtorch on the same input).
# Prints one line per model and format, and a final "N passed, N failed" line; non-zero on any failure.
# usage: tests/verify/verify_zoo.sh [--opset 11..17] [--keep DIR] [model ...]   (after ./build.sh managed)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON=/usr/bin/python3
CNN="$ROOT/src/CnnNative.Cli/bin/Release/net10.0/cnn"
opset=17
out=""
keep=0
models=()
while (($#)); do
  case "$1" in
    --opset) opset="$2"; shift 2 ;;
    --keep) out="$2"; keep=1; shift 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
# name:input shape[:classes], one per line of models.txt (build.ps1 reads the same file)
mapfile -t all < <(grep -v '^#' "$ROOT/tests/verify/models.txt" | awk NF)
specs=()
for s in "${all[@]}"; do
  if ((${#models[@]} == 0)) || [[ " ${models[*]} " == *" ${s%%:*} "* ]]; then specs+=("$s"); fi
done
[ -x "$CNN" ] || { echo "error: $CNN not built; run ./build.sh managed first" >&2; exit 2; }
if [ -z "$out" ]; then out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi

passed=0 failed=0
for s in "${specs[@]}"; do
  IFS=: read -r name shape classes <<<"$s"
  "$PYTHON" "$ROOT/tests/verify/export_zoo.py" "$out" "$opset" "$s" >"$out/export.log" 2>&1 \
    || { echo "FAIL $name: export"; sed 's/^/    /' "$out/export.log"; failed=$((failed + 2)); continue; }
  for fmt in safetensors onnx; do
    if [ "$fmt" = onnx ]; then
      args=(--onnx "$out/$name.onnx")
    else
      args=(--weights "$out/$name.safetensors" --model "$name" --input-shape "$shape" --num-classes "${classes:-1000}")
    fi
    start=$(date +%s)
    if result=$("$CNN" verify "${args[@]}" 2>&1); then passed=$((passed + 1)); verdict=PASS; else failed=$((failed + 1)); verdict=FAIL; fi
    printf '%-4s %-13s %-11s %3ss  %s\n' "$verdict" "$name" "$fmt" "$(( $(date +%s) - start ))" \
      "$(grep -A1 -m1 'max abs' <<<"$result" | tail -1 | tr -s ' ')"
    [ "$verdict" = FAIL ] && printf '%s\n' "$result" | sed 's/^/    /'
  done
  ((keep)) || rm -f "$out/$name.onnx" "$out/$name.safetensors"  # VGG-16 is ~0.5 GB per format
done
echo "verify: $passed passed, $failed failed"
((failed == 0))
