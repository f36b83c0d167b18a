#!/usr/bin/env bash
# generate_onnx_proto.sh — writes Generated/Onnx.g.cs, the C# message classes of the ONNX file format,
# with Debian's protoc (protobuf-compiler 3.21.12, matching the Google.Protobuf NuGet package) from
# Debian python3-onnx's onnx.proto. `./build.sh onnxproto` runs it; `--check` (run by ./build.sh test)
# exits 1 when the committed file differs from a fresh generation, 2 when generation itself fails.
# The classes are internal and live in CnnNative.Onnx.Proto: the public API never shows protobuf types.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROTO="${ONNX_PROTO:-/usr/lib/python3/dist-packages/onnx/onnx.proto}"
OUT="$HERE/Generated/Onnx.g.cs"
check=0
[ "${1:-}" = "--check" ] && check=1

fail() { echo "onnx proto: $*" >&2; exit 2; }
command -v protoc >/dev/null || fail "protoc is missing: apt-get install protobuf-compiler"
[ -f "$PROTO" ] || fail "$PROTO is missing: apt-get install python3-onnx"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The C# namespace is set on a copy of the proto (protoc has no command-line switch for it).
sed 's/^package onnx;$/package onnx;\noption csharp_namespace = "CnnNative.Onnx.Proto";/' "$PROTO" >"$tmp/onnx.proto"
grep -q 'csharp_namespace' "$tmp/onnx.proto" || fail "no 'package onnx;' line in $PROTO"
protoc --proto_path="$tmp" --csharp_out="$tmp" --csharp_opt=internal_access "$tmp/onnx.proto" || fail "protoc failed"
{
  echo "// GENERATED FILE — DO NOT EDIT. Regenerate with ./build.sh onnxproto"
  echo "// (src/CnnNative/Onnx/generate_onnx_proto.sh: Debian protoc $(protoc --version | cut -d' ' -f2) over"
  echo "// Debian python3-onnx's onnx.proto, namespace CnnNative.Onnx.Proto, internal access)."
  cat "$tmp/Onnx.cs"
} >"$tmp/Onnx.g.cs"

if ((check)); then
  if cmp -s "$tmp/Onnx.g.cs" "$OUT"; then
    echo "onnx proto: Generated/Onnx.g.cs is up to date"
  else
    echo "onnx proto drift: run ./build.sh onnxproto (Generated/Onnx.g.cs does not match $PROTO)" >&2
    exit 1
  fi
else
  cp "$tmp/Onnx.g.cs" "$OUT"
  echo "onnx proto: wrote $OUT"
fi
