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
#   ./build.sh pack       NuGet package -> artifacts/packages/CnnNative.<version>.nupkg (version: the VERSION file)
#   ./build.sh fuzz [seconds] [target]   afl-fuzz (SharpFuzz) on each loader, 60 s per target by default; non-zero
#                         on a finding. ./build.sh fuzz replay [target]: corpus + findings through the harness only
#   ./build.sh sanitize-managed   an xunit slice against libcnnnative built with ASan+UBSan at -O2 (build/sanitize-lib)
#   ./build.sh soak [minutes]     8 threads mixing sessions, training and load/dispose (default 10 min; not in CI)
#   ./build.sh deps | native | bindings | managed | sanitize | clean
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
verb="${1:-test}"
shift || true

NATIVE_BUILD="$ROOT/build/native"
NATIVE_OUT="$ROOT/artifacts/native/linux-x64"
CONFIG=Release
# Debian's python (with python3-torch), not whatever python3 is first on PATH.
PYTHON="${CNN_PYTHON:-/usr/bin/python3}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '\n==> %s\n' "$*"; }

# ---- dependencies: idempotent; apt-get runs only when something is missing ----------------
# The Python modules' Debian packages come from eng/python-deps.txt (build.ps1 reads its pip column).
mapfile -t PYTHON_DEBS < <(awk '!/^#/ && NF {print $2}' "$ROOT/eng/python-deps.txt")
APT_PACKAGES=(cmake gcc make python3 "${PYTHON_DEBS[@]}" dataset-fashion-mnist protobuf-compiler)

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

# artifacts/packages/CnnNative.<version>.nupkg (version: VERSION): the managed library with its XML docs,
# README and LICENSE, and the native library at runtimes/linux-x64/native/ (plus runtimes/win-x64/native/
# when artifacts/native/win-x64/cnnnative.dll exists, i.e. build.ps1 made it on Windows).
pack() {
  log "NuGet package (dotnet pack, $CONFIG) -> artifacts/packages"
  dotnet pack "$ROOT/src/CnnNative/CnnNative.csproj" -c $CONFIG -nologo -v quiet
  ls -l "$ROOT/artifacts/packages/CnnNative.$(tr -d '[:space:]' <"$ROOT/VERSION").nupkg"
}

bindings() {
  log "regenerating bindings/NativeMethods.g.cs from native/include/cnn/cnn.h"
  bash "$ROOT/bindings/generator.sh"
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
  report_isas "$ROOT/build/sanitize"
}

# The ISAs the native tests ran on and those the CPU lacks (test_contexts says it; ctest keeps the output in its log).
report_isas() {
  grep -h "^ISAs tested" "$1/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u || true
}

# The xunit classes the sanitized library runs: ops on every ISA, loaders, sessions, training steps, bad input.
SANITIZE_MANAGED_FILTER="${CNN_SANITIZE_FILTER:-FullyQualifiedName~IsaCoverageTests|FullyQualifiedName~ConvTests|FullyQualifiedName~PoolTests|FullyQualifiedName~ElementwiseTests|FullyQualifiedName~ShapeOpTests|FullyQualifiedName~OnnxHostileFileTests|FullyQualifiedName~DataTests|FullyQualifiedName~InferenceSessionTests|FullyQualifiedName~OnnxSessionTests|FullyQualifiedName~OptimizerTests|FullyQualifiedName~TrainingMemoryTests|FullyQualifiedName~BadInputTests|FullyQualifiedName~MemoryTests}"

# libcnnnative with ASan+UBSan at -O2 (RelWithDebInfo: -O2 -g) in its own build dir, and a slice of the xunit
# suite run against it: the library found through CNN_NATIVE_LIBRARY, the ASan runtime preloaded into the test
# host (dotnet itself is not instrumented, so libasan must come first in the process).
sanitize_managed() {
  local dir="$ROOT/build/sanitize-lib"
  log "libcnnnative with ASan+UBSan at -O2 (RelWithDebInfo) in $dir"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNN_SANITIZE=ON -DCNN_BUILD_TESTS=OFF >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target cnnnative
  dotnet build "$ROOT/tests/CnnNative.Tests/CnnNative.Tests.csproj" -c $CONFIG -nologo -v quiet

  # Only the test host gets the sanitizer (a run setting), not the dotnet CLI and MSBuild around it.
  # detect_leaks=0: LeakSanitizer reports the CLR's own never-freed runtime allocations (leaks of the library
  #   are what MemoryTests and the live-bytes checks catch). handle_segv/sigbus/sigfpe=0: the CLR turns those
  #   signals into NullReference/DivideByZero exceptions, ASan must leave them to it.
  # alloc_dealloc_mismatch/new_delete_type_mismatch=0: libtorch (the in-process oracle, not under test, not built
  #   for ASan) pairs its allocators in ways ASan's interceptors cannot see; our C core has no new/delete.
  local settings="$dir/asan.runsettings"
  # libasan first (it must be), then the TorchSharp shim where this libstdc++ needs it (the in-process oracle).
  local shim
  shim="$(torchsharp_preload "$ROOT/tests/CnnNative.Tests/bin/$CONFIG/net10.0")"
  # The oracle (python3 + libtorch, a child of the test host) is not under test and ASan's interceptors kill it
  # (seen: torch's ONNX export): it runs from a wrapper that takes the sanitizer out of its environment.
  local python="$dir/python3-without-asan"
  printf '#!/bin/sh\nunset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS\nexec %s "$@"\n' "$PYTHON" >"$python"
  chmod +x "$python"
  cat >"$settings" <<XML
<RunSettings><RunConfiguration><EnvironmentVariables>
  <LD_PRELOAD>$(gcc -print-file-name=libasan.so)${shim:+:$shim}</LD_PRELOAD>
  <CNN_NATIVE_LIBRARY>$dir/native/libcnnnative.so</CNN_NATIVE_LIBRARY>
  <CNN_ORACLE_PYTHON>$python</CNN_ORACLE_PYTHON>
  <ASAN_OPTIONS>detect_leaks=0:alloc_dealloc_mismatch=0:new_delete_type_mismatch=0:halt_on_error=1:abort_on_error=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:allow_user_segv_handler=1:detect_stack_use_after_return=0</ASAN_OPTIONS>
  <UBSAN_OPTIONS>print_stacktrace=1:halt_on_error=1</UBSAN_OPTIONS>
</EnvironmentVariables></RunConfiguration></RunSettings>
XML
  log "xunit slice under ASan+UBSan: $SANITIZE_MANAGED_FILTER"
  local trx_dir="$ROOT/build/sanitize-lib/testresults"
  rm -rf "$trx_dir"
  dotnet test "$ROOT/tests/CnnNative.Tests/CnnNative.Tests.csproj" -c $CONFIG --no-build -nologo \
    --settings "$settings" --filter "$SANITIZE_MANAGED_FILTER" \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=detailed" --results-directory "$trx_dir" \
    | tee "$dir/xunit.log" | grep -E "ISAs tested|ERROR: AddressSanitizer|runtime error:|Failed |Passed!|Failed!|Total tests" || true
  # The verdict: the trx counters, and no sanitizer report in the log (a report aborts the host: tests go missing).
  if grep -qE "ERROR: AddressSanitizer|runtime error:" "$dir/xunit.log"; then
    echo "sanitize-managed: a sanitizer report above (full log: $dir/xunit.log)"; return 1
  fi
  "$PYTHON" - "$trx_dir" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
p = f = 0
for trx in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(trx).getroot().find(".//{*}Counters")
    p += int(c.get("passed")); f += int(c.get("failed")) + int(c.get("error") or 0)
print(f"sanitize-managed: {p} passed, {f} failed")
sys.exit(1 if f or p == 0 else 0)
PY
}

# ---- fuzzing (tests/CnnNative.Fuzz: SharpFuzz + afl++) ----------------------------------------------
FUZZ_PROJECT="$ROOT/tests/CnnNative.Fuzz"
FUZZ_TARGETS=(safetensors onnx idx modelcard)
FUZZ_DIR="$ROOT/build/fuzz"
# afl++ in a container: no CPU governor or core_pattern to tune, no TTY, dotnet is not an instrumented binary
# (SharpFuzz instruments the managed assemblies it runs), and the 2 cores are shared (no pinning).
export_afl_env() {
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 \
         AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 CNN_MEMORY_CACHE_MB=0
}

fuzz_build() {
  dotnet build "$FUZZ_PROJECT/CnnNative.Fuzz.csproj" -c $CONFIG -nologo -v quiet
}

# Every seed and kept finding of each target (or "$1" only) through the harness, no afl: the regression test.
fuzz_replay() {
  local targets=("${FUZZ_TARGETS[@]}") failed=0
  (($#)) && targets=("$@")
  log "fuzz replay: corpus + findings through the harness (${targets[*]})"
  for t in "${targets[@]}"; do
    dotnet "$FUZZ_PROJECT/bin/$CONFIG/net10.0/CnnNative.Fuzz.dll" replay "$t" "$FUZZ_PROJECT/corpus/$t" || failed=1
  done
  return $failed
}

# afl-fuzz on each target (or "$2" only) for "$1" seconds (default 60); non-zero if anything was found.
fuzz_run() {
  local seconds="${1:-60}" targets=("${FUZZ_TARGETS[@]}") found=0 clean=0
  [ -n "${2:-}" ] && targets=("$2")
  install_missing afl++
  dotnet tool restore >/dev/null
  export_afl_env
  # A fresh copy of the harness output, instrumented: the assemblies that read untrusted bytes.
  rm -rf "$FUZZ_DIR/bin" && mkdir -p "$FUZZ_DIR/bin"
  cp -r "$FUZZ_PROJECT/bin/$CONFIG/net10.0/." "$FUZZ_DIR/bin/"
  for dll in CnnNative.dll cnn.dll Google.Protobuf.dll; do
    dotnet sharpfuzz "$FUZZ_DIR/bin/$dll" >/dev/null
  done
  for t in "${targets[@]}"; do
    log "afl-fuzz $t for ${seconds}s"
    local in="$FUZZ_DIR/in/$t" out="$FUZZ_DIR/out/$t"
    rm -rf "$in" "$out" && mkdir -p "$in" "$out"
    find "$FUZZ_PROJECT/corpus/$t" -maxdepth 1 -type f ! -name '*.md' -exec cp {} "$in/" \;
    timeout $((seconds + 300)) afl-fuzz -V "$seconds" -i "$in" -o "$out" -t 10000 -m none \
      -- dotnet "$FUZZ_DIR/bin/CnnNative.Fuzz.dll" "$t" >"$FUZZ_DIR/afl-$t.log" 2>&1 \
      || { echo "afl-fuzz failed; its log:"; tail -30 "$FUZZ_DIR/afl-$t.log"; return 1; }
    if fuzz_report "$t" "$out/default"; then clean=$((clean + 1)); else found=$((found + 1)); fi
  done
  echo "fuzz: $clean passed, $found failed"
  return $((found > 0))
}

# One target's figures, and its findings: afl's crashes, and hangs that still take > 30 s without afl.
fuzz_report() {
  local t="$1" dir="$2"
  field() { sed -n "s/^$1 *: //p" "$dir/fuzzer_stats"; }
  printf '%-12s %8s execs (%s/s) in %ss, corpus %s (%s found), edges %s, map coverage %s, crashes %s, hangs %s\n' \
    "$t" "$(field execs_done)" "$(field execs_per_sec)" "$(field run_time)" "$(field corpus_count)" "$(field corpus_found)" \
    "$(field edges_found)" "$(field bitmap_cvg)" "$(field saved_crashes)" "$(field saved_hangs)"
  local findings="$FUZZ_DIR/findings/$t" n=0
  mkdir -p "$findings"
  for f in "$dir"/crashes/id:* "$dir"/hangs/id:*; do
    [ -e "$f" ] || continue
    if [[ "$f" == */hangs/* ]] && timeout 30 dotnet "$FUZZ_PROJECT/bin/$CONFIG/net10.0/CnnNative.Fuzz.dll" replay "$t" "$f" >/dev/null 2>&1; then
      continue # slow only under afl on a loaded machine
    fi
    n=$((n + 1))
    cp "$f" "$findings/$(basename "$(dirname "$f")")-$n.bin"
    dotnet "$FUZZ_PROJECT/bin/$CONFIG/net10.0/CnnNative.Fuzz.dll" replay "$t" "$f" | head -3 || true
  done
  if ((n)); then
    echo "$t: $n finding(s) in $findings (minimize: afl-tmin -i F -o F.min -t 10000 -m none -- dotnet $FUZZ_DIR/bin/CnnNative.Fuzz.dll $t;"
    echo "  keep the minimized input in tests/CnnNative.Fuzz/corpus/$t/findings/ as a regression test)"
    return 1
  fi
}

fuzz() {
  fuzz_build
  if [ "${1:-}" = replay ]; then
    shift
    fuzz_replay "$@"
  else
    fuzz_replay && fuzz_run "$@"
  fi
}

# tests/CnnNative.Soak: 8 threads mixing sessions, eager forward, training steps and load/dispose for "$1"
# minutes (default 10); pass = bit-identical results, no error, no memory growth after warm-up (rule in Program.cs).
soak() {
  local minutes="${1:-10}"
  log "soak test: $minutes min, 8 threads (samples in build/soak/samples.csv)"
  dotnet build "$ROOT/tests/CnnNative.Soak/CnnNative.Soak.csproj" -c $CONFIG -nologo -v quiet
  rm -rf "$ROOT/build/soak"
  dotnet "$ROOT/tests/CnnNative.Soak/bin/$CONFIG/net10.0/CnnNative.Soak.dll" "$minutes" 8 "$ROOT/build/soak"
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
  report_isas "$NATIVE_BUILD"

  # Every xunit run writes its .trx here; the closing summary adds them all up.
  local trx_dir="$ROOT/build/testresults"
  rm -rf "$trx_dir"

  log "bindings drift check and generator tests"
  bash "$ROOT/bindings/check_bindings.sh"
  dotnet test "$ROOT/bindings/CnnNative.BindingsGen.Tests/CnnNative.BindingsGen.Tests.csproj" -c $CONFIG --no-build -nologo \
    --logger "trx;LogFileName=bindingsgen.trx" --results-directory "$trx_dir"
  bash "$ROOT/src/CnnNative/Onnx/generate_onnx_proto.sh" --check

  log "xunit suite (oracles in-process: libtorch 2.10 via TorchSharp, ONNX Runtime 1.32)"
  local preload
  preload="$(torchsharp_preload "$ROOT/tests/CnnNative.Tests/bin/$CONFIG/net10.0")"
  LD_PRELOAD="$preload" dotnet test "$ROOT/tests/CnnNative.Tests/CnnNative.Tests.csproj" -c $CONFIG --no-build -nologo \
    --filter "Category!=OnnxZoo" --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$trx_dir" | tee "$ROOT/build/xunit.log"

  # One closing line for humans and CI: native checks + ctest programs + xunit tests.
  "$PYTHON" "$ROOT/tests/summarize_results.py" "$ROOT/build/ctest.log" "$trx_dir"
}

case "$verb" in
  deps) deps ;;
  native) native ;;
  bindings) bindings ;;
  onnxproto) bash "$ROOT/src/CnnNative/Onnx/generate_onnx_proto.sh" ;;
  managed) native; managed ;;
  pack) deps; native; pack ;;
  sanitize) sanitize ;;
  fuzz) deps; native; fuzz "$@" ;;
  sanitize-managed) deps; native; sanitize_managed ;;
  soak) deps; native; soak "$@" ;;
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
  *) echo "usage: $0 [demo|test|verify|zoo-onnx|bench|pack|deps|native|bindings|onnxproto|managed|sanitize|sanitize-managed|fuzz|soak|clean]" >&2; exit 2 ;;
esac
