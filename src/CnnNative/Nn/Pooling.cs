namespace CnnNative.Nn;

/// <summary>2D max pooling, PyTorch's <c>nn.MaxPool2d</c> (stride defaults to the kernel size).</summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Square window: <c>nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)</c>.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), (dilation, dilation), ceilMode)
    {
    }

    /// <summary>Rectangular window with per-axis stride, padding and dilation.</summary>
    public MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? dilation = null, bool ceilMode = false)
    {
        Options = new Pool2dOptions
        {
            KernelSize = kernelSize,
            Stride = stride,
            Padding = padding ?? (0, 0),
            Dilation = dilation ?? (1, 1),
            CeilMode = ceilMode,
        };
    }

    /// <summary>The pooling options (validated by the native core on use).</summary>
    public Pool2dOptions Options { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.MaxPool2d(input, Options);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"kernel_size={Options.KernelSize}, stride={Options.EffectiveStride}, padding={Options.Padding}, dilation={Options.Dilation}, ceil_mode={Options.CeilMode}";
}

/// <summary>2D average pooling, PyTorch's <c>nn.AvgPool2d</c>.</summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Square window: <c>nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)</c>.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad, divisorOverride)
    {
    }

    /// <summary>Rectangular window with per-axis stride and padding.</summary>
    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    {
        Options = new Pool2dOptions
        {
            KernelSize = kernelSize,
            Stride = stride,
            Padding = padding ?? (0, 0),
            CeilMode = ceilMode,
            CountIncludePad = countIncludePad,
            DivisorOverride = divisorOverride,
        };
    }

    /// <summary>The pooling options (validated by the native core on use).</summary>
    public Pool2dOptions Options { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.AvgPool2d(input, Options);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"kernel_size={Options.KernelSize}, stride={Options.EffectiveStride}, padding={Options.Padding}";
}

/// <summary>2D power-average pooling, PyTorch's <c>nn.LPPool2d</c>: (sum over the window of x^p)^(1/p).</summary>
public sealed class LPPool2d : Module
{
    /// <summary>Square window: <c>nn.LPPool2d(norm_type, kernel_size, stride=None, ceil_mode=False)</c>.</summary>
    public LPPool2d(float normType, int kernelSize, int? stride = null, bool ceilMode = false)
        : this(normType, (kernelSize, kernelSize), stride is int s ? (s, s) : null, ceilMode)
    {
    }

    /// <summary>Rectangular window with per-axis stride.</summary>
    public LPPool2d(float normType, (int H, int W) kernelSize, (int H, int W)? stride = null, bool ceilMode = false)
    {
        Options = new Pool2dOptions
        {
            KernelSize = kernelSize,
            Stride = stride,
            CeilMode = ceilMode,
            NormType = normType,
        };
    }

    /// <summary>The pooling options (validated by the native core on use).</summary>
    public Pool2dOptions Options { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.LpPool2d(input, Options);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"norm_type={Options.NormType}, kernel_size={Options.KernelSize}, stride={Options.EffectiveStride}, ceil_mode={Options.CeilMode}";
}

/// <summary>
/// PyTorch's <c>nn.AdaptiveAvgPool2d</c>: [N, C, H, W] -&gt; [N, C, OH, OW] with torch's windows (any output size,
/// also larger than the input). Output size (1, 1) runs the global-average-pooling kernel.
/// </summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Square output size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The output size is below 1.</exception>
    public AdaptiveAvgPool2d(int outputSize = 1)
        : this((outputSize, outputSize))
    {
    }

    /// <summary>Output (height, width).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    public AdaptiveAvgPool2d((int H, int W) outputSize)
    {
        if (outputSize.H < 1 || outputSize.W < 1)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "Output size must be >= 1.");
        OutputSize = outputSize;
    }

    /// <summary>The output (height, width).</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return OutputSize == (1, 1) ? Functional.GlobalAvgPool2d(input) : Functional.AdaptiveAvgPool2d(input, OutputSize);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"output_size=({OutputSize.H}, {OutputSize.W})";
}
