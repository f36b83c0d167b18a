namespace CnnNative.Onnx;

/// <summary>
/// Limits applied while reading an ONNX file (<see cref="OnnxModel.Load(string, OnnxLoadOptions?)"/>), so
/// that a hostile or corrupt file fails with an exception instead of exhausting memory or the stack.
/// </summary>
public sealed record OnnxLoadOptions
{
    /// <summary>The default options.</summary>
    public static OnnxLoadOptions Default { get; } = new();

    /// <summary>Largest accepted file, in bytes (default 2 GiB, protobuf's own limit); &gt;= 1.</summary>
    public long MaxFileBytes { get; init; } = 2L << 30;

    /// <summary>
    /// Largest element count of one tensor (initializer, constant or declared input shape); default 2^28, i.e. 1 GiB
    /// of float32; &gt;= 1. Checked from the declared dimensions, before anything of that size is allocated (raise it
    /// for a model whose input or weights really are larger).
    /// </summary>
    public long MaxTensorElements { get; init; } = 1L << 28;

    /// <summary>
    /// Largest element count of a constant computed at load time (the shape and padding arithmetic exporters emit:
    /// Transpose, Slice, Concat, Cast, ConstantOfShape of constants); default 2^20; 1 ... 2^31 - 1. Checked from the result's
    /// shape before it is computed; a larger one is a <see cref="NotSupportedException"/> naming the node.
    /// </summary>
    public long MaxFoldedElements { get; init; } = 1L << 20;

    /// <summary>Deepest accepted nesting of protobuf messages (default 100, protobuf's default); 1..1000.</summary>
    public int RecursionLimit { get; init; } = 100;

    internal void Validate()
    {
        if (MaxFileBytes < 1)
            throw new ArgumentException($"OnnxLoadOptions.MaxFileBytes is {MaxFileBytes}; it must be >= 1.", nameof(MaxFileBytes));
        if (MaxTensorElements < 1)
            throw new ArgumentException($"OnnxLoadOptions.MaxTensorElements is {MaxTensorElements}; it must be >= 1.", nameof(MaxTensorElements));
        if (MaxFoldedElements is < 1 or > int.MaxValue)
            throw new ArgumentException($"OnnxLoadOptions.MaxFoldedElements is {MaxFoldedElements}; it must be in 1 ... {int.MaxValue}.", nameof(MaxFoldedElements));
        if (RecursionLimit is < 1 or > 1000)
            throw new ArgumentException($"OnnxLoadOptions.RecursionLimit is {RecursionLimit}; it must be in 1..1000.", nameof(RecursionLimit));
    }
}
