#!/usr/bin/env bash
# check_bindings.sh — fails when bindings/NativeMethods.g.cs differs from a fresh generation
# from native/include/cnn/cnn.h (the generator's --check: exit 1 and a unified diff). Run by
# ./build.sh test and CI.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$HERE/generator.sh" --check
rc=$?
case $rc in
  0) echo "bindings: NativeMethods.g.cs is up to date" ;;
  1) echo "bindings drift: run ./build.sh bindings (NativeMethods.g.cs does not match native/include/cnn/cnn.h)" >&2 ;;
  *) echo "bindings: the generator failed (exit $rc, see above); fix native/include/cnn/cnn.h or the generator" >&2 ;;
esac
exit $rc
