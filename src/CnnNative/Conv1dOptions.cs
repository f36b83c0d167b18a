namespace CnnNative;

/// <summary>
/// Hyper-parameters of a 1D convolution (<see cref="Functional.Conv1d(Tensor, Tensor, Tensor?, Conv1dOptions, Activation)"/>)
/// with PyTorch's defaults: stride 1, no padding, dilation 1, one group. Validated by the native core when used.
/// </summary>
public sealed record Conv1dOptions
{
    /// <summary>The defaults (stride 1, no padding, dilation 1, one group).</summary>
    public static Conv1dOptions Default { get; } = new();

    /// <summary>Step between output positions (&gt;= 1).</summary>
    public int Stride { get; init; } = 1;

    /// <summary>Zero padding on both ends (&gt;= 0).</summary>
    public int Padding { get; init; }

    /// <summary>Spacing between kernel taps (&gt;= 1).</summary>
    public int Dilation { get; init; } = 1;

    /// <summary>Number of channel groups; in and out channels must be divisible by it.</summary>
    public int Groups { get; init; } = 1;

    /// <summary>The same convolution as a 2D one over a [N, C, 1, L] view.</summary>
    internal Conv2dOptions As2d() => new()
    {
        Stride = (1, Stride),
        Padding = new Padding2d(0, 0, Padding, Padding),
        Dilation = (1, Dilation),
        Groups = Groups,
    };
}
