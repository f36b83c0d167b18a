using static CnnNative.BindingsGen.Tests.GeneratorRun;

namespace CnnNative.BindingsGen.Tests;

/// <summary>Whatever is not blittable is refused: exit 2, nothing written, a message naming the declaration.</summary>
public sealed class RefusalTests
{
    [Fact]
    public void Bool_parameter() =>
        Rejected("CNN_API int32_t cnn_set_flag(int32_t x, bool enabled);", "cnn_set_flag", "enabled", "bool");

    [Fact]
    public void Bool_field() => Rejected("typedef struct cnn_opts { bool fast; } cnn_opts;", "cnn_opts.fast", "bool");

    [Fact]
    public void Char_pointer_input() => Rejected("CNN_API int32_t cnn_open(const char* path);", "cnn_open", "path", "char*");

    [Fact]
    public void Non_const_char_pointer_return() => Rejected("CNN_API char* cnn_name(void);", "cnn_name", "const char*");

    [Fact]
    public void Struct_passed_by_value() => Rejected("""
        typedef struct cnn_p { int32_t x; } cnn_p;
        CNN_API int32_t cnn_take(cnn_p p);
        """, "cnn_take", "passed by value");

    [Fact]
    public void Struct_returned_by_value() => Rejected("""
        typedef struct cnn_p { int32_t x; } cnn_p;
        CNN_API cnn_p cnn_make(void);
        """, "cnn_make", "returned by value");

    [Fact]
    public void Function_pointer_parameter() =>
        Rejected("CNN_API int32_t cnn_on_event(void (*callback)(int32_t code));", "cnn_on_event", "callback", "function pointer");

    [Fact]
    public void Typedef_function_pointer_parameter() => Rejected("""
        typedef void (*cnn_log_fn)(int32_t level);
        CNN_API int32_t cnn_set_logger(cnn_log_fn logger);
        """, "cnn_set_logger", "logger", "function pointer");

    [Fact]
    public void Variadic_function() => Rejected("CNN_API int32_t cnn_printf(int32_t n, ...);", "cnn_printf", "variadic");

    [Fact]
    public void Union() => Rejected("typedef union cnn_u { int32_t i; float f; } cnn_u;", "cnn_u", "union");

    [Fact]
    public void Platform_dependent_long() => Rejected("CNN_API int32_t cnn_count(long n);", "cnn_count", "int64_t");

    [Fact]
    public void Function_without_the_export_macro() => Rejected("int32_t cnn_hidden(int32_t x);", "cnn_hidden", "CNN_API");

    [Fact]
    public void Packed_struct() =>
        Rejected("typedef struct __attribute__((packed)) cnn_pk { uint8_t a; int32_t b; } cnn_pk;", "cnn_pk", "natural offset");

    [Fact]
    public void Bit_field() => Rejected("typedef struct cnn_bits { int32_t a : 3; int32_t b; } cnn_bits;", "cnn_bits.a", "bit-field");

    [Fact]
    public void Doc_param_that_is_not_a_parameter() =>
        Rejected("/** @param nope gone */\nCNN_API int32_t cnn_documented(int32_t x);", "cnn_documented", "nope");

    [Fact]
    public void Global_variable() => Rejected("CNN_API extern int32_t cnn_counter;", "cnn_counter", "global variable");

    [Fact]
    public void Every_error_is_reported_at_once() => Rejected("""
        CNN_API int32_t cnn_one(bool a);
        CNN_API int32_t cnn_two(const char* b);
        """, "cnn_one", "cnn_two");

    [Fact]
    public void Header_that_does_not_compile() =>
        Rejected("CNN_API int32_t cnn_broken(int32_t x", "does not compile as C11", "test.h");
}
