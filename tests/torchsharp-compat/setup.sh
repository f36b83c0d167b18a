#!/usr/bin/env bash
# TorchSharp (libtorch 2.10) on a system whose libstdc++ is older than GCC 13 (Debian 12: GCC 12).
#
#   tests/torchsharp-compat/setup.sh NATIVE_DIR SHIM_DIR
#
# NATIVE_DIR holds a build output's copy of libLibTorchSharp.so (never the NuGet cache's). When the
# system libstdc++ lacks GLIBCXX_3.4.32, marks that one version need of the copy weak and builds
# ios_init_shim.so into SHIM_DIR, then prints the shim's path: the caller puts it in LD_PRELOAD for
# the run that loads TorchSharp. On a newer libstdc++ it does nothing and prints nothing. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
native_dir="$1"
shim_dir="$(mkdir -p "$2" && cd "$2" && pwd)"  # absolute: LD_PRELOAD is read from other working directories

# (awk reads to the end: an early exit would SIGPIPE ldconfig and fail the pipeline under pipefail)
libstdcxx="$(/sbin/ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found { print $NF; found = 1 }')"
if [ -z "$libstdcxx" ]; then
  echo "torchsharp-compat: no x86-64 libstdc++.so.6 found by ldconfig" >&2
  exit 1
fi
if grep -q 'GLIBCXX_3\.4\.32' "$libstdcxx"; then
  exit 0  # GCC 13 or newer: TorchSharp loads as shipped
fi

lib="$native_dir/libLibTorchSharp.so"
if [ ! -f "$lib" ]; then
  echo "torchsharp-compat: $lib not found (build the project that references TorchSharp first)" >&2
  exit 1
fi
python3 "$here/weaken_glibcxx_need.py" "$lib" >&2

mkdir -p "$shim_dir"
shim="$shim_dir/ios_init_shim.so"
if [ ! -f "$shim" ] || [ "$here/ios_init_shim.cpp" -nt "$shim" ]; then
  g++ -O2 -shared -fPIC -o "$shim.tmp" "$here/ios_init_shim.cpp"
  mv -f "$shim.tmp" "$shim"
fi
echo "$shim"
