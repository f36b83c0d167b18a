#!/usr/bin/env bash
# benchmarks/run.sh [options]  (what `./build.sh bench [options]` runs after building)
#
# Side-by-side benchmarks; writes docs/benchmarks.md (benchmarks/report.py). The machine is shared
# and noisy, so every claim is a ratio of runs made next to each other in this one run:
#  1. kernels: the BenchmarkDotNet suite (benchmarks/CnnNative.Benchmarks): each conv/pool/batch-norm
#     case at batch 1 and 8, 1 and 2 threads, by CnnNative (AVX-512 and AVX2 contexts; convolutions as
#     Conv2dPlans made in setup, as oneDNN's primitives are) and oneDNN (benchmarks/onednn-shim, built
#     here against Debian's libdnnl-dev), in one process;
#  2. models: `cnn bench` and benchmarks/torch_models.py (torchvision, Debian's python3-torch) on the
#     same model, batch and threads, alternating ours/torch per round.
# Options:
#   --quick            smoke run: 4 kernel cases at batch 1, short job; resnet18 batch 1, one round
#   --cases A,B        only kernel cases whose name contains A or B (e.g. "3x3 64->64,maxpool")
#   --per-call         also time the stateless Functional.Conv2d (weights packed per call), AVX-512
#   --models LIST      comma-separated (default resnet18,resnet50,vgg16,mobilenet_v2,alexnet)
#   --batches LIST     model batch sizes (default 1,16)
#   --rounds N         ours/torch rounds per model and batch (default 2)
#   --threads N        model threads (default 2; the kernel suite always runs 1 and 2)
#   --runner R         how `cnn bench` runs the model: session (default, InferenceSession) or module
#   --skip-kernels / --skip-models
# Raw outputs go to docs/benchmarks-raw/ (git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${CNN_PYTHON:-/usr/bin/python3}"
RAW="$ROOT/docs/benchmarks-raw"
OUT="${CNN_BENCH_OUTPUT:-$ROOT/docs/benchmarks.md}"
CLI="$ROOT/src/CnnNative.Cli/bin/Release/net10.0/cnn.dll"
BENCH_DLL="$ROOT/benchmarks/CnnNative.Benchmarks/bin/Release/net10.0/CnnNative.Benchmarks.dll"

mode=full cases="" per_call=0 models="resnet18,resnet50,vgg16,mobilenet_v2,alexnet" batches="1,16" rounds=2 threads=2 runner=session
run_kernels=1 run_models=1
while (($#)); do
  case "$1" in
    --quick) mode=quick models=resnet18 batches=1 rounds=1 ;;
    --cases) cases="$2"; shift ;;
    --per-call) per_call=1 ;;
    --models) models="$2"; shift ;;
    --batches) batches="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --runner) runner="$2"; shift ;;
    --skip-kernels) run_kernels=0 ;;
    --skip-models) run_models=0 ;;
    *) echo "run.sh: unknown option '$1' (see the header of benchmarks/run.sh)" >&2; exit 2 ;;
  esac
  shift
done

if [[ ! -f /usr/include/dnnl.h ]]; then
  echo "run.sh: oneDNN headers missing; install Debian's libdnnl-dev (./build.sh bench does)." >&2
  exit 2
fi
for f in "$CLI" "$BENCH_DLL" "$ROOT/artifacts/native/linux-x64/libcnnnative.so"; do
  [[ -f "$f" ]] || { echo "run.sh: $f missing; run ./build.sh bench (it builds first)." >&2; exit 2; }
done

echo "==> oneDNN shim (benchmarks/onednn-shim)"
cmake -S "$ROOT/benchmarks/onednn-shim" -B "$ROOT/build/onednn-shim" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build/onednn-shim" >/dev/null
export CNN_ONEDNN_SHIM="$ROOT/build/onednn-shim/libcnnbench_onednn.so"

rm -rf "$RAW"
mkdir -p "$RAW/models"
start=$(date +%s)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
failures=()

if ((run_kernels)); then
  echo "==> kernel suite (CnnNative vs oneDNN)"
  args=(--artifacts "$RAW" --filter '*KernelBenchmarks*')
  [[ $mode == quick ]] && args+=(--quick)
  [[ -n $cases ]] && args+=(--cases "$cases")
  ((per_call)) && args+=(--per-call)
  set +e
  dotnet "$BENCH_DLL" "${args[@]}" 2>&1 | tee "$RAW/console.log" | grep -E '^(// oneDNN|\| |// \*|Global total)' 
  status=${PIPESTATUS[0]}
  set -e
  ((status == 0)) || failures+=("kernel suite exit status $status (see docs/benchmarks-raw/console.log)")
fi

if ((run_models)); then
  IFS=, read -ra model_list <<<"$models"
  IFS=, read -ra batch_list <<<"$batches"
  for model in "${model_list[@]}"; do
    for batch in "${batch_list[@]}"; do
      # Fewer timed runs for big batches (seconds each); the median is over all rounds.
      if ((batch >= 8)); then iterations=4 warmup=1; else iterations=10 warmup=2; fi
      [[ $mode == quick ]] && iterations=5
      for ((round = 1; round <= rounds; round++)); do
        echo "==> $model batch $batch, round $round/$rounds"
        tag="$model-b$batch-r$round"
        if ! dotnet "$CLI" bench --model "$model" --batch "$batch" --threads "$threads" --runner "$runner" --iterations "$iterations" \
             --warmup "$warmup" --json "$RAW/models/ours-$tag.json" 2>&1 | tee "$RAW/models/ours-$tag.log"; then
          failures+=("cnn bench --model $model --batch $batch: $(tail -1 "$RAW/models/ours-$tag.log")")
          rm -f "$RAW/models/ours-$tag.json"
        fi
        if ! "$PYTHON" "$ROOT/benchmarks/torch_models.py" --models "$model" --batch "$batch" --threads "$threads" \
             --iterations "$iterations" --warmup "$warmup" --json "$RAW/models/torch-$tag.json" 2>&1 | tee "$RAW/models/torch-$tag.log"; then
          failures+=("torch_models.py $model batch $batch: $(tail -1 "$RAW/models/torch-$tag.log")")
          rm -f "$RAW/models/torch-$tag.json"
        fi
      done
    done
  done
fi

elapsed=$(($(date +%s) - start))
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
failure_text="$(printf '%s; ' "${failures[@]+"${failures[@]}"}")"
/usr/bin/env python3 "$ROOT/benchmarks/report.py" --out "$OUT" --raw "$RAW" --mode "$mode" --elapsed "$elapsed" \
  --load-before "$load_before" --load-after "$load_after" --failures "${failure_text%; }"
echo "run.sh: done in $((elapsed / 60)) min $((elapsed % 60)) s"
if ((${#failures[@]})); then
  printf 'run.sh: failure: %s\n' "${failures[@]}" >&2
  exit 1
fi
