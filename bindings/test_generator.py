#!/usr/bin/python3
"""Self-test of bindings/generate_bindings.py: feeds it small synthetic headers and checks the C#.

Run with Debian's /usr/bin/python3 (needs python3-clang-14). The last line is "N passed, N failed";
the exit code is non-zero if any check failed.
"""

import os
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "generate_bindings.py")

PREAMBLE = """\
#include <stdint.h>
#include <stdbool.h>
#define CNN_API __attribute__((visibility("default")))
"""

results = {"passed": 0, "failed": 0}


def run(header_body, preamble=PREAMBLE):
    """Runs the generator CLI on a temp header -> (exit code, C# text or None, stderr)."""
    with tempfile.TemporaryDirectory(prefix="cnn-bindgen-test-") as tmp:
        header = os.path.join(tmp, "test.h")
        output = os.path.join(tmp, "Out.g.cs")
        with open(header, "w", encoding="utf-8") as f:
            f.write(preamble + header_body)
        proc = subprocess.run([sys.executable, GENERATOR, "--header", header, "--output", output],
                              capture_output=True, text=True)
        text = None
        if os.path.exists(output):
            with open(output, encoding="utf-8", newline="") as f:
                text = f.read()
        return proc.returncode, text, proc.stderr


def check(name, fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - report every failure, keep going
        results["failed"] += 1
        print("FAIL %s\n%s" % (name, "".join("    " + l for l in traceback.format_exc().splitlines(True))))
    else:
        results["passed"] += 1
        print("ok   %s" % name)


def expect_ok(body):
    rc, text, err = run(body)
    assert rc == 0, "generator failed (exit %d):\n%s" % (rc, err)
    return text


def expect_lines(text, *lines):
    stripped = [l.strip() for l in text.split("\n")]
    for line in lines:
        assert line in stripped, "missing line %r in:\n%s" % (line, text)


def expect_rejected(body, *needles):
    rc, text, err = run(body)
    assert rc == 2, "expected exit 2 (cannot map), got %d; stderr:\n%s\noutput:\n%s" % (rc, err, text)
    assert text is None, "nothing must be written on failure"
    for needle in needles:
        assert needle in err, "stderr does not mention %r:\n%s" % (needle, err)


# ---------------------------------------------------------------------------------------------

def test_enum_prefix_and_pascal_case():
    text = expect_ok("""
/** Colour modes. */
typedef enum cnn_color_mode {
    /** Red, green & blue. */
    CNN_COLOR_MODE_RGB = 0,
    CNN_COLOR_MODE_BLACK_AND_WHITE = 1,
    CNN_COLOR_MODE_NEGATIVE = -1
} cnn_color_mode;
typedef enum cnn_dims { CNN_DIMS_2D = 2, CNN_DIMS_3D = 3 } cnn_dims;
typedef enum cnn_single { CNN_SINGLE_ONLY = 7 } cnn_single;
""")
    expect_lines(text, "public enum CnnColorMode", "Rgb = 0,", "BlackAndWhite = 1,", "Negative = -1,",
                 "/// Red, green &amp; blue.", "/// Colour modes.",
                 # a prefix that would leave a leading digit is backed off by one part
                 "public enum CnnDims", "Dims2d = 2,", "Dims3d = 3,",
                 # a single member keeps its last part
                 "public enum CnnSingle", "Only = 7,")


def test_struct_field_mapping():
    text = expect_ok("""
typedef struct cnn_thing cnn_thing;
typedef enum cnn_mode { CNN_MODE_A = 0, CNN_MODE_B = 1 } cnn_mode;
/** A shape; values are > 0 & finite. */
typedef struct cnn_shape_params {
    int32_t in_channels;
    int64_t total_bytes;
    float eps;
    double scale;
    uint8_t flag_byte;
    cnn_mode mode;
    /** Where the data lives. */
    const float* data;
    cnn_thing* owner;
    int32_t dims[4];
} cnn_shape_params;
typedef struct cnn_outer { cnn_shape_params inner; int32_t count; } cnn_outer;
""")
    expect_lines(text, "[StructLayout(LayoutKind.Sequential)]", "public unsafe struct CnnShapeParams",
                 "public int InChannels;", "public long TotalBytes;", "public float Eps;",
                 "public double Scale;", "public byte FlagByte;", "public CnnMode Mode;",
                 "public float* Data;", "public nint Owner;", "public fixed int Dims[4];",
                 "/// Where the data lives.", "/// A shape; values are &gt; 0 &amp; finite.",
                 "public struct CnnOuter", "public CnnShapeParams Inner;", "public int Count;")


def test_opaque_handle_and_functions():
    text = expect_ok("""
/** Opaque. */
typedef struct cnn_thing cnn_thing;
typedef struct cnn_p { int32_t x; } cnn_p;
typedef enum cnn_status { CNN_STATUS_SUCCESS = 0, CNN_STATUS_FAILED = 1 } cnn_status;
/**
 * Creates a thing.
 * @param out_thing receives it;
 *                  destroy it with cnn_thing_destroy.
 * @return a status, a < b.
 */
CNN_API cnn_status cnn_thing_create(cnn_thing** out_thing);
CNN_API void cnn_thing_destroy(cnn_thing* thing);
CNN_API cnn_status cnn_thing_get(const cnn_thing* thing, int32_t* out_value);
CNN_API const char* cnn_thing_name(void);
CNN_API cnn_status cnn_thing_apply(cnn_thing* thing, const cnn_p* p, void** out_pointer, int64_t count);
static inline int32_t cnn_helper(int32_t x) { return x + 1; }
""")
    expect_lines(text,
                 "public static unsafe partial class NativeMethods",
                 'public const string LibraryName = "cnnnative";',
                 "[LibraryImport(LibraryName)]",
                 "[UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]",
                 "public static partial CnnStatus cnn_thing_create(nint* out_thing);",
                 "public static partial void cnn_thing_destroy(nint thing);",
                 "public static partial CnnStatus cnn_thing_get(nint thing, int* out_value);",
                 "public static partial byte* cnn_thing_name();",
                 "public static partial CnnStatus cnn_thing_apply(nint thing, CnnP* p, void** out_pointer, long count);",
                 "/// Creates a thing.",
                 '/// <param name="out_thing">receives it; destroy it with cnn_thing_destroy.</param>',
                 "/// <returns>a status, a &lt; b.</returns>")
    assert "cnn_helper" not in text, "static inline helpers must not be bound"
    assert "struct CnnThing" not in text, "opaque structs must not be emitted"
    # header order, header comment, namespace, LF + trailing newline
    assert text.index(" cnn_thing_create(") < text.index(" cnn_thing_destroy(") < text.index(" cnn_thing_apply(")
    assert text.startswith("// <auto-generated> Generated by bindings/generate_bindings.py from ")
    expect_lines(text, "namespace CnnNative.Interop;")
    assert "\r" not in text and text.endswith("}\n") and not text.endswith("\n\n")


def test_keyword_parameters_escaped():
    text = expect_ok("""
typedef struct cnn_conv_params { int32_t groups; } cnn_conv_params;
/** @param params the shape */
CNN_API int32_t cnn_conv(const cnn_conv_params* params, int32_t object, float* out, int32_t value);
""")
    expect_lines(text, "public static partial int cnn_conv(CnnConvParams* @params, int @object, float* @out, int value);",
                 '/// <param name="params">the shape</param>')


def test_deterministic():
    body = """
typedef enum cnn_e { CNN_E_A = 0 } cnn_e;
typedef struct cnn_s { int32_t a; } cnn_s;
CNN_API cnn_e cnn_f(const cnn_s* s);
"""
    assert expect_ok(body) == expect_ok(body)


def test_rejects_bool_parameter():
    expect_rejected("CNN_API int32_t cnn_set_flag(int32_t x, bool enabled);", "cnn_set_flag", "enabled", "bool")


def test_rejects_bool_field():
    expect_rejected("typedef struct cnn_opts { bool fast; } cnn_opts;", "cnn_opts.fast", "bool")


def test_rejects_char_pointer_input():
    expect_rejected("CNN_API int32_t cnn_open(const char* path);", "cnn_open", "path", "char*")


def test_rejects_non_const_char_return():
    expect_rejected("CNN_API char* cnn_name(void);", "cnn_name", "const char*")


def test_rejects_by_value_struct_parameter():
    expect_rejected("""
typedef struct cnn_p { int32_t x; } cnn_p;
CNN_API int32_t cnn_take(cnn_p p);
""", "cnn_take", "passed by value")


def test_rejects_by_value_struct_return():
    expect_rejected("""
typedef struct cnn_p { int32_t x; } cnn_p;
CNN_API cnn_p cnn_make(void);
""", "cnn_make", "returned by value")


def test_rejects_function_pointer_parameter():
    expect_rejected("CNN_API int32_t cnn_on_event(void (*callback)(int32_t code));",
                    "cnn_on_event", "callback", "function pointer")


def test_rejects_typedef_function_pointer_parameter():
    expect_rejected("""
typedef void (*cnn_log_fn)(int32_t level);
CNN_API int32_t cnn_set_logger(cnn_log_fn logger);
""", "cnn_set_logger", "logger", "function pointer")


def test_rejects_variadic():
    expect_rejected("CNN_API int32_t cnn_printf(int32_t n, ...);", "cnn_printf", "variadic")


def test_rejects_union():
    expect_rejected("typedef union cnn_u { int32_t i; float f; } cnn_u;", "cnn_u", "union")


def test_rejects_platform_dependent_long():
    expect_rejected("CNN_API int32_t cnn_count(long n);", "cnn_count", "int64_t")


def test_rejects_missing_api_macro():
    expect_rejected("int32_t cnn_hidden(int32_t x);", "cnn_hidden", "CNN_API")


def test_rejects_packed_struct():
    expect_rejected("typedef struct __attribute__((packed)) cnn_pk { uint8_t a; int32_t b; } cnn_pk;", "cnn_pk")


def test_rejects_unknown_doc_param():
    expect_rejected("/** @param nope gone */\nCNN_API int32_t cnn_documented(int32_t x);", "cnn_documented", "nope")


def test_reports_every_error():
    expect_rejected("""
CNN_API int32_t cnn_one(bool a);
CNN_API int32_t cnn_two(const char* b);
""", "cnn_one", "cnn_two")


def test_real_header_generates():
    proc = subprocess.run([sys.executable, GENERATOR, "--check", "--output", os.devnull],
                          capture_output=True, text=True)
    # exit 1 = "differs from /dev/null", i.e. generation itself succeeded
    assert proc.returncode == 1, "generation of cnn.h failed (exit %d):\n%s" % (proc.returncode, proc.stderr)
    assert "cnn_get_last_error" in proc.stdout


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    for name, fn in tests:
        check(name[len("test_"):], fn)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
