using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>How <see cref="InferenceSession.Create"/> compiles and runs a model.</summary>
public sealed record InferenceSessionOptions
{
    /// <summary>Thread budget of each op (1 ... 256, 0 = all hardware threads); null: the creating thread's <see cref="Cnn.NumThreads"/>.</summary>
    public int? NumThreads { get; init; }

    /// <summary>Kernel family; null: the creating thread's <see cref="Cnn.Isa"/>.</summary>
    public CnnIsa? Isa { get; init; }

    /// <summary>Fold eval-mode batch norm into the convolution before it (when nothing else reads the convolution's output).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>Fuse an activation into the epilogue of the conv / linear / batch norm / add before it.</summary>
    public bool FuseActivations { get; init; } = true;

    /// <summary>
    /// How many calls to <see cref="InferenceSession.Run(ReadOnlySpan{float}, Span{float})"/> may execute at once; each
    /// concurrent call needs its own execution context (a native context and an arena). Further callers wait.
    /// Default: the number of processors.
    /// </summary>
    public int MaxConcurrency { get; init; } = Environment.ProcessorCount;
}
