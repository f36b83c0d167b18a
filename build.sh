#!/usr/bin/env bash
# build.sh — the one entry point on Linux (build.ps1 mirrors it on Windows).
#
#   ./build.sh demo       install what is missing, build, run the main job (`cnn demo`)
#   ./build.sh test       install what is missing, build, run native tests (ctest), the bindings
#                         drift check and the xunit suite (incl. the libtorch oracle); non-zero on failure
#   ./build.sh bench      side-by-side benchmarks (kernels vs oneDNN, models vs PyTorch) -> docs/benchmarks.md;
#                         options: see benchmarks/run.sh (--quick for a smoke run). Also needs libdnnl-dev.
#   ./build.sh verify     every zoo model exported by PyTorch (safetensors and ONNX) through `cnn verify`
#                         (tests/verify/verify_zoo.sh; ~10 min: the 224x224 models in float64 on the torch side)
#   ./build.sh zoo-onnx   every torchvision 0.14 classifier + 3 segmentation models exported as ONNX (opsets 13 and 17):
#                         load, eager and session vs ONNX Runtime (xunit Category=OnnxZoo; -> artifacts/onnx-zoo.txt)
#   ./build.sh onnxproto  regenerate src/CnnNative/Onnx/Generated/Onnx.g.cs (protoc over onnx.proto)
#   ./build.sh deps | native | bindings | managed | sanitize | clean
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
verb="${1:-test}"
shift || true

NATIVE_BUILD="$ROOT/build/native"
NATIVE_OUT="$ROOT/artifacts/native/linux-x64"
CONFIG=Release
# Debian's python (with python3-torch and python3-clang-14), not whatever python3 is first on PATH.
PYTHON="${CNN_PYTHON:-/usr/bin/python3}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '\n==> %s\n' "$*"; }

# ---- dependencies: idempotent; apt-get runs only when something is missing ----------------
APT_PACKAGES=(cmake gcc make python3 python3-numpy python3-torch python3-torchvision python3-clang-14 libclang-14-dev
              dataset-fashion-mnist protobuf-compiler python3-onnx)

# Installs the Debian packages among "$@" that are missing (apt-get runs only then).
install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

deps() {
  install_missing "${APT_PACKAGES[@]}"
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET 10 SDK ('dotnet') is not on PATH; install it (https://dot.net) and re-run." >&2
    exit 1
  fi
}

# oneDNN is a benchmark peer only (benchmarks/onednn-shim): installed for `bench`, never for test/demo.
bench_deps() { install_missing libdnnl-dev; }

native() {
  log "native core (CMake, $CONFIG)"
  mkdir -p "$ROOT/build" "$NATIVE_OUT"
  # One native build at a time: parallel invocations share build/native.
  exec 9>"$ROOT/build/.native.lock"
  flock 9
  cmake -S "$ROOT" -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=$CONFIG >/dev/null
  cmake --build "$NATIVE_BUILD" -j"$(nproc)"
  cp "$NATIVE_BUILD/native/libcnnnative.so" "$NATIVE_OUT/libcnnnative.so.tmp"
  mv -f "$NATIVE_OUT/libcnnnative.so.tmp" "$NATIVE_OUT/libcnnnative.so"
  flock -u 9
}

bindings() {
  log "regenerating bindings/NativeMethods.g.cs from native/include/cnn/cnn.h"
  "$PYTHON" "$ROOT/bindings/generate_bindings.py"
}

managed() {
  log "managed build (dotnet, $CONFIG)"
  dotnet build "$ROOT/CnnNative.sln" -c $CONFIG -nologo -v quiet
}

sanitize() {
  log "native tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S "$ROOT" -B "$ROOT/build/sanitize" -DCMAKE_BUILD_TYPE=Debug -DCNN_SANITIZE=ON >/dev/null
  cmake --build "$ROOT/build/sanitize" -j"$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$ROOT/build/sanitize" --output-on-failure
}

# TorchSharp's native glue wants GCC 13's libstdc++ for one symbol; on an older system this patches
# the build output's copy and prints a shim to preload (tests/torchsharp-compat/setup.sh), else nothing.
torchsharp_preload() {
  bash "$ROOT/tests/torchsharp-compat/setup.sh" "$1/runtimes/linux-x64/native" "$ROOT/build/torchsharp-compat"
}

run_tests() {
  local summary="$ROOT/build/test-summary.txt"
  mkdir -p "$ROOT/build"
  : >"$summary"

  log "native unit tests (ctest)"
  ctest --test-dir "$NATIVE_BUILD" --output-on-failure | tee "$ROOT/build/ctest.log"

  log "bindings drift check"
  bash "$ROOT/bindings/check_bindings.sh"
  "$PYTHON" "$ROOT/bindings/test_generator.py"
  bash "$ROOT/src/CnnNative/Onnx/generate_onnx_proto.sh" --check

  log "xunit suite (oracles in-process: libtorch 2.10 via TorchSharp, ONNX Runtime 1.32)"
  local trx_dir="$ROOT/build/testresults"
  rm -rf "$trx_dir"
  local preload
  preload="$(torchsharp_preload "$ROOT/tests/CnnNative.Tests/bin/$CONFIG/net10.0")"
  LD_PRELOAD="$preload" dotnet test "$ROOT/tests/CnnNative.Tests/CnnNative.Tests.csproj" -c $CONFIG --no-build -nologo \
    --filter "Category!=OnnxZoo" --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$trx_dir" | tee "$ROOT/build/xunit.log"

  # One closing line for humans and CI: native checks + ctest programs + xunit tests.
  "$PYTHON" - "$ROOT/build/ctest.log" "$trx_dir" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
ctest = open(sys.argv[1]).read()
m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", ctest)
c_total, c_failed = (int(m.group(3)), int(m.group(2))) if m else (0, 0)
x_passed = x_failed = x_skipped = 0
for trx in glob.glob(sys.argv[2] + "/*.trx"):
    counters = ET.parse(trx).getroot().find(".//{*}Counters")
    x_passed += int(counters.get("passed")); x_failed += int(counters.get("failed"))
    x_skipped += int(counters.get("notExecuted"))
print(f"\nctest: {c_total - c_failed} passed, {c_failed} failed")
print(f"xunit: {x_passed} passed, {x_failed} failed, {x_skipped} skipped")
print(f"total: {c_total - c_failed + x_passed} passed, {c_failed + x_failed} failed")
sys.exit(1 if (c_failed or x_failed or x_passed == 0 or c_total == 0) else 0)
PY
}

case "$verb" in
  deps) deps ;;
  native) native ;;
  bindings) bindings ;;
  onnxproto) bash "$ROOT/src/CnnNative/Onnx/generate_onnx_proto.sh" ;;
  managed) native; managed ;;
  sanitize) sanitize ;;
  test) deps; native; managed; run_tests ;;
  demo)
    deps; native; managed
    log "cnn demo"
    dotnet "$ROOT/src/CnnNative.Cli/bin/$CONFIG/net10.0/cnn.dll" demo "$@"
    ;;
  verify) deps; native; managed; bash "$ROOT/tests/verify/verify_zoo.sh" "$@" ;;
  zoo-onnx)
    deps; native; managed
    rm -f "$ROOT/artifacts/onnx-zoo.txt"
    LD_PRELOAD="$(torchsharp_preload "$ROOT/tests/CnnNative.Tests/bin/$CONFIG/net10.0")" \
      dotnet test "$ROOT/tests/CnnNative.Tests/CnnNative.Tests.csproj" -c $CONFIG --no-build -nologo --filter "Category=OnnxZoo" \
      --logger "console;verbosity=normal" || true
    sort "$ROOT/artifacts/onnx-zoo.txt"
    ! grep -qv "match ORT" "$ROOT/artifacts/onnx-zoo.txt"
    ;;
  bench) deps; bench_deps; native; managed; bash "$ROOT/benchmarks/run.sh" "$@" ;;
  clean) rm -rf "$ROOT/build" "$ROOT/artifacts"; find "$ROOT" -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + ;;
  *) echo "usage: $0 [demo|test|verify|zoo-onnx|bench|deps|native|bindings|onnxproto|managed|sanitize|clean]" >&2; exit 2 ;;
esac
