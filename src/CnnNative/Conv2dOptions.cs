namespace CnnNative;

/// <summary>
/// Hyper-parameters of a 2D convolution (<see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions, Activation)"/>)
/// with PyTorch's defaults: stride 1, no padding, dilation 1, one group. The kernel size and channel
/// counts come from the weight tensor. Values are validated by the native core when used.
/// </summary>
public sealed record Conv2dOptions
{
    /// <summary>The defaults (stride 1, no padding, dilation 1, one group).</summary>
    public static Conv2dOptions Default { get; } = new();

    /// <summary>Step between output positions, (vertical, horizontal); each &gt;= 1.</summary>
    public (int H, int W) Stride { get; init; } = (1, 1);

    /// <summary>Zero padding per side; each side &gt;= 0.</summary>
    public Padding2d Padding { get; init; }

    /// <summary>Spacing between kernel taps, (vertical, horizontal); each &gt;= 1.</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Number of channel groups; in and out channels must be divisible by it.</summary>
    public int Groups { get; init; } = 1;
}
