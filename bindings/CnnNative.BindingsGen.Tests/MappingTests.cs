using static CnnNative.BindingsGen.Tests.GeneratorRun;

namespace CnnNative.BindingsGen.Tests;

/// <summary>What each mapping rule of docs/design.md ("Bindings") turns a small header into.</summary>
public sealed class MappingTests
{
    [Fact]
    public void Enums_lose_their_common_prefix_and_become_PascalCase()
    {
        string text = Ok("""
            /** Colour modes. */
            typedef enum cnn_color_mode {
                /** Red, green & blue. */
                CNN_COLOR_MODE_RGB = 0,
                CNN_COLOR_MODE_BLACK_AND_WHITE = 1,
                CNN_COLOR_MODE_NEGATIVE = -1
            } cnn_color_mode;
            typedef enum cnn_dims { CNN_DIMS_2D = 2, CNN_DIMS_3D = 3 } cnn_dims;
            typedef enum cnn_single { CNN_SINGLE_ONLY = 7 } cnn_single;
            """);
        HasLines(text, "public enum CnnColorMode", "Rgb = 0,", "BlackAndWhite = 1,", "Negative = -1,",
            "/// Red, green &amp; blue.", "/// Colour modes.",
            // a prefix that would leave a leading digit is backed off by one part
            "public enum CnnDims", "Dims2d = 2,", "Dims3d = 3,",
            // a single member keeps its last part
            "public enum CnnSingle", "Only = 7,");
    }

    [Fact]
    public void Struct_fields_map_to_blittable_sequential_fields()
    {
        string text = Ok("""
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
            """);
        HasLines(text, "[StructLayout(LayoutKind.Sequential)]", "public unsafe struct CnnShapeParams",
            "public int InChannels;", "public long TotalBytes;", "public float Eps;",
            "public double Scale;", "public byte FlagByte;", "public CnnMode Mode;",
            "public float* Data;", "public nint Owner;", "public fixed int Dims[4];",
            "/// Where the data lives.", "/// A shape; values are &gt; 0 &amp; finite.",
            "public struct CnnOuter", "public CnnShapeParams Inner;", "public int Count;");
    }

    [Fact]
    public void Functions_become_LibraryImport_methods_and_opaque_handles_nint()
    {
        string text = Ok("""
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
            """);
        HasLines(text,
            "public static unsafe partial class NativeMethods",
            "public const string LibraryName = \"cnnnative\";",
            "[LibraryImport(LibraryName)]",
            "[UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]",
            "public static partial CnnStatus cnn_thing_create(nint* out_thing);",
            "public static partial void cnn_thing_destroy(nint thing);",
            "public static partial CnnStatus cnn_thing_get(nint thing, int* out_value);",
            "public static partial byte* cnn_thing_name();",
            "public static partial CnnStatus cnn_thing_apply(nint thing, CnnP* p, void** out_pointer, long count);",
            "/// Creates a thing.",
            "/// <param name=\"out_thing\">receives it; destroy it with cnn_thing_destroy.</param>",
            "/// <returns>a status, a &lt; b.</returns>");
        Assert.DoesNotContain("cnn_helper", text);      // static inline helpers are not bound
        Assert.DoesNotContain("struct CnnThing", text); // opaque structs are not emitted
        // header order, header comment, namespace, LF line ends and one trailing newline
        Assert.True(text.IndexOf(" cnn_thing_create(", StringComparison.Ordinal) < text.IndexOf(" cnn_thing_destroy(", StringComparison.Ordinal)
                    && text.IndexOf(" cnn_thing_destroy(", StringComparison.Ordinal) < text.IndexOf(" cnn_thing_apply(", StringComparison.Ordinal),
            "functions must come in header order");
        Assert.StartsWith("// <auto-generated> Generated by bindings/CnnNative.BindingsGen from test.h. Do not edit. </auto-generated>\n", text);
        HasLines(text, "namespace CnnNative.Interop;");
        Assert.DoesNotContain("\r", text);
        Assert.EndsWith("}\n", text);
        Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal), "one trailing newline");
    }

    [Fact]
    public void Parameters_named_like_CSharp_keywords_get_an_at()
    {
        string text = Ok("""
            typedef struct cnn_conv_params { int32_t groups; } cnn_conv_params;
            /** @param params the shape */
            CNN_API int32_t cnn_conv(const cnn_conv_params* params, int32_t object, float* out, int32_t value);
            """);
        HasLines(text,
            "public static partial int cnn_conv(CnnConvParams* @params, int @object, float* @out, int value);",
            "/// <param name=\"params\">the shape</param>");
    }

    [Fact]
    public void Output_is_deterministic()
    {
        const string body = """
            typedef enum cnn_e { CNN_E_A = 0 } cnn_e;
            typedef struct cnn_s { int32_t a; } cnn_s;
            CNN_API cnn_e cnn_f(const cnn_s* s);
            """;
        Assert.Equal(Ok(body), Ok(body));
    }
}
