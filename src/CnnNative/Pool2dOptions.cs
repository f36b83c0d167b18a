namespace CnnNative;

/// <summary>
/// Hyper-parameters of a 2D pooling (<see cref="Functional.MaxPool2d(Tensor, Pool2dOptions)"/>,
/// <see cref="Functional.AvgPool2d(Tensor, Pool2dOptions)"/>, <see cref="Functional.LpPool2d(Tensor, Pool2dOptions)"/>)
/// with PyTorch's semantics and defaults. Values are validated by the native core when used:
/// padding is at most half the (dilated) kernel, dilation is for max pooling only, LP pooling takes
/// no padding.
/// </summary>
public sealed record Pool2dOptions
{
    /// <summary>Options with a kernel size to be set by an initializer (<c>new Pool2dOptions { KernelSize = (2, 2) }</c>).</summary>
    public Pool2dOptions()
    {
    }

    /// <summary>Options for a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public Pool2dOptions(int kernelSize)
        : this(kernelSize, kernelSize)
    {
    }

    /// <summary>Options for a window of a given height and width.</summary>
    /// <param name="kernelHeight">Window height.</param>
    /// <param name="kernelWidth">Window width.</param>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public Pool2dOptions(int kernelHeight, int kernelWidth)
    {
        KernelSize = (kernelHeight, kernelWidth);
    }

    /// <summary>Window size, (height, width); each &gt;= 1.</summary>
    public required (int H, int W) KernelSize { get; init; }

    /// <summary>Step between windows; <c>null</c> (the default) means the kernel size, as in PyTorch.</summary>
    public (int H, int W)? Stride { get; init; }

    /// <summary>Implicit padding on both sides of each axis, (rows, columns); default 0.</summary>
    public (int H, int W) Padding { get; init; }

    /// <summary>Spacing between window taps (max pooling only); default 1.</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Round the output size up instead of down (PyTorch's <c>ceil_mode</c>); default false.</summary>
    public bool CeilMode { get; init; }

    /// <summary>Average pooling: divide by the window size including padding (default true) or by the valid element count.</summary>
    public bool CountIncludePad { get; init; } = true;

    /// <summary>Average pooling: if set, the divisor of every window (&gt; 0) instead of its size.</summary>
    public int? DivisorOverride { get; init; }

    /// <summary>LP pooling: the exponent p (&gt; 0, finite); default 2.</summary>
    public float NormType { get; init; } = 2f;

    /// <summary>The effective stride: <see cref="Stride"/>, or the kernel size when it is null.</summary>
    public (int H, int W) EffectiveStride => Stride ?? KernelSize;
}
