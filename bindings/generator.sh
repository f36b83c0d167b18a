#!/usr/bin/env bash
# generator.sh ARGS — runs the bindings generator (bindings/CnnNative.BindingsGen, options in
# bindings/README.md), building it first when the built dll is missing or older than one of its sources.
# (`dotnet run` does the same, but its MSBuild up-to-date check alone takes seconds.)
# Exit codes: the generator's (0 ok, 1 drift, 2 unmappable header, 3 no libclang), 4 the build failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$HERE/CnnNative.BindingsGen"
DLL="$PROJECT/bin/Release/net10.0/CnnNative.BindingsGen.dll"

stale() {
  [ ! -f "$DLL" ] && return 0
  [ -n "$(find "$PROJECT" "$HERE/../Directory.Build.props" \( -path "$PROJECT/bin" -o -path "$PROJECT/obj" \) -prune \
          -o -type f -newer "$DLL" -print -quit)" ]
}

if stale; then
  # MSBuild's output is shown only if the build fails (stdout stays the generator's: --check's diff).
  if ! out="$(dotnet build "$PROJECT" -c Release -nologo -v quiet 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "generator.sh: cannot build $PROJECT" >&2
    exit 4
  fi
fi
exec dotnet "$DLL" "$@"
