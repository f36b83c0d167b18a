#!/usr/bin/env bash
# benchmarks/run.sh [options]  (what `./build.sh bench [options]` runs after building)
#
# Side-by-side benchmarks; writes docs/benchmarks.md (benchmarks/report.py). The machine is shared
# and noisy, so every claim is a ratio of runs made next to each other in this one run:
#  1. kernels: the BenchmarkDotNet suite (benchmarks/CnnNative.Benchmarks): each conv/pool/batch-norm
#     case at batch 1 and 8, 1 and 2 threads, by CnnNative (AVX-512 and AVX2 contexts; convolutions as
#     Conv2dPlans made in setup, as oneDNN's primitives are) and oneDNN (benchmarks/onednn-shim, built
#     here against Debian's libdnnl-dev), in one process;
#  2. peers: whole models on the SAME ONNX file (torchvision 0.14 exported at opset 17 by
#     benchmarks/export_onnx_models.py) in ONE process: CnnNative's InferenceSession, ONNX Runtime 1.32
#     and libtorch 2.10 (TorchSharp; TorchVision's definition of the model), alternating rounds, median;
#     batch 1 on 1 and 2 threads, batch 16 on 2 threads (CnnNative.Benchmarks --peers, Peers/PeerBench.cs);
#     the CPU model and the measured FMA peak head the table;
#  3. training: CnnNative.Benchmarks --train-peers: training steps (Adam, cross-entropy, BN batch statistics)
#     of resnet18/resnet50/mobilenet_v2 at 3x64x64 batch 32, vgg11_bn at 3x32x32 batch 64 and LeNet-5 at
#     1x28x28 batch 64, 1 and 2 threads, against libtorch 2.10 in the same process, with our per-phase breakdown;
#  4. history: `cnn bench` and benchmarks/torch_models.py (Debian's PyTorch 1.13) on the same model, batch
#     and threads, alternating ours/torch per round (no longer a floor; --skip-models drops it).
# Options:
#   --quick            smoke run: 4 kernel cases at batch 1, short job; resnet18 batch 1, one round
#   --cases A,B        only kernel cases whose name contains A or B (e.g. "3x3 64->64,maxpool")
#   --per-call         also time the stateless Functional.Conv2d (weights packed per call), AVX-512
#   --models LIST      comma-separated (default resnet18,resnet50,vgg16,mobilenet_v2,alexnet)
#   --batches LIST     model batch sizes (default 1,16)
#   --rounds N         ours/torch rounds per model and batch (default 2)
#   --threads N        model threads (default 2; the kernel suite always runs 1 and 2)
#   --runner R         how `cnn bench` runs the model: session (default, InferenceSession) or module
#   --peer-models LIST comma-separated ONNX peers (default: the ten models of docs/benchmarks.md's peer table)
#   --peer-configs L   BxT list for the peers (default 1x1,1x2,16x2)
#   --train-cases LIST model:CxHxW:batch list for the training suite (default: Peers/TrainPeerBench.cs DefaultCases)
#   --skip-kernels / --skip-peers / --skip-train / --skip-models
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
run_kernels=1 run_models=1 run_peers=1 run_train=1 train_cases=""
peer_models="resnet18,resnet50,googlenet,densenet121,resnext50_32x4d,inception_v3,squeezenet1_1,mobilenet_v2,regnet_x_400mf,efficientnet_b0"
peer_configs="1x1,1x2,16x2"
while (($#)); do
  case "$1" in
    --quick) mode=quick models=resnet18 batches=1 rounds=1 peer_models=resnet18,mobilenet_v2 peer_configs=1x2 train_cases=lenet5:1x28x28:64 ;;
    --cases) cases="$2"; shift ;;
    --per-call) per_call=1 ;;
    --models) models="$2"; shift ;;
    --batches) batches="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --runner) runner="$2"; shift ;;
    --skip-kernels) run_kernels=0 ;;
    --skip-models) run_models=0 ;;
    --skip-peers) run_peers=0 ;;
    --skip-train) run_train=0 ;;
    --train-cases) train_cases="$2"; shift ;;
    --peer-models) peer_models="$2"; shift ;;
    --peer-configs) peer_configs="$2"; shift ;;
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

if ((run_peers)); then
  echo "==> peers: CnnNative vs ONNX Runtime vs libtorch on the same ONNX files"
  onnx_dir="$ROOT/build/peer-models"
  IFS=, read -ra peer_list <<<"$peer_models"
  "$PYTHON" "$ROOT/benchmarks/export_onnx_models.py" "$onnx_dir" 17 "${peer_list[@]}"
  bench_bin="$(dirname "$BENCH_DLL")"
  # TorchSharp on libstdc++ older than GCC 13: the same shim as the tests (prints nothing on newer systems).
  preload="$(bash "$ROOT/tests/torchsharp-compat/setup.sh" "$bench_bin/runtimes/linux-x64/native" "$ROOT/build/torchsharp-compat")"
  peer_rounds=5
  [[ $mode == quick ]] && peer_rounds=2
  set +e
  LD_PRELOAD="$preload" dotnet "$BENCH_DLL" --peers --onnx-dir "$onnx_dir" --models "$peer_models" --configs "$peer_configs" \
    --rounds "$peer_rounds" --json "$RAW/peers.json" --markdown "$RAW/peers.md" 2>&1 | grep -v NNPACK | tee "$RAW/peers.log"
  status=${PIPESTATUS[0]}
  set -e
  ((status == 0)) || failures+=("peers exit status $status (see docs/benchmarks-raw/peers.log)")
fi

if ((run_train)); then
  echo "==> training: CnnNative vs libtorch 2.10"
  bench_bin="$(dirname "$BENCH_DLL")"
  preload="$(bash "$ROOT/tests/torchsharp-compat/setup.sh" "$bench_bin/runtimes/linux-x64/native" "$ROOT/build/torchsharp-compat")"
  train_args=(--train-peers --markdown "$RAW/train.md" --json "$RAW/train.json")
  [[ -n $train_cases ]] && train_args+=(--cases "$train_cases")
  [[ $mode == quick ]] && train_args+=(--rounds 2 --round-ms 1000 --threads 2)
  set +e
  LD_PRELOAD="$preload" dotnet "$BENCH_DLL" "${train_args[@]}" 2>&1 | grep -v NNPACK | tee "$RAW/train.log"
  status=${PIPESTATUS[0]}
  set -e
  ((status == 0)) || failures+=("training suite exit status $status (see docs/benchmarks-raw/train.log)")
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
