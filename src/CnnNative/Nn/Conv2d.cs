namespace CnnNative.Nn;

/// <summary>
/// 2D convolution, PyTorch's <c>nn.Conv2d</c> (zero padding, cross-correlation, NCHW input, OIHW weight),
/// with an optional activation fused into the native op's epilogue.
/// Parameters: <c>weight</c> [out, in/groups, kH, kW] and (if <c>bias</c>) <c>bias</c> [out], initialised like
/// PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both (kaiming_uniform with a = sqrt(5)), fan_in = in/groups*kH*kW.
/// </summary>
public sealed class Conv2d : Module
{
    private readonly Conv2dOptions _options;
    private readonly string? _paddingMode;

    /// <summary>Square kernel, symmetric padding: <c>nn.Conv2d(in, out, k, stride, padding, dilation, groups, bias)</c>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, Activation activation = Activation.None)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), Padding2d.Symmetric(padding),
            (dilation, dilation), groups, bias, activation, null)
    {
    }

    /// <summary>
    /// Square kernel with PyTorch's string padding: <c>"same"</c> (output size = input size; stride must be 1;
    /// extra padding for even kernels goes bottom/right, as in PyTorch) or <c>"valid"</c> (no padding).
    /// </summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, string padding, int stride = 1, int dilation = 1,
        int groups = 1, bool bias = true, Activation activation = Activation.None)
        : this(inChannels, outChannels, (kernelSize, kernelSize), padding, (stride, stride), (dilation, dilation), groups, bias, activation)
    {
    }

    /// <summary>Rectangular kernel with per-axis stride and dilation and per-side padding (default none; see <see cref="Padding2d.Same"/>).</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null,
        Padding2d? padding = null, (int H, int W)? dilation = null, int groups = 1, bool bias = true,
        Activation activation = Activation.None)
        : this(inChannels, outChannels, kernelSize, stride ?? (1, 1), padding ?? Padding2d.Zero, dilation ?? (1, 1),
            groups, bias, activation, null)
    {
    }

    /// <summary>Rectangular kernel with PyTorch's string padding, <c>"same"</c> or <c>"valid"</c>.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, string padding, (int H, int W)? stride = null,
        (int H, int W)? dilation = null, int groups = 1, bool bias = true, Activation activation = Activation.None)
        : this(inChannels, outChannels, kernelSize, stride ?? (1, 1),
            ResolvePadding(padding, kernelSize, stride ?? (1, 1), dilation ?? (1, 1)), dilation ?? (1, 1),
            groups, bias, activation, padding.ToLowerInvariant())
    {
    }

    private Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, Padding2d padding,
        (int H, int W) dilation, int groups, bool bias, Activation activation, string? paddingMode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize.H, 1, nameof(kernelSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize.W, 1, nameof(kernelSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(stride.H, 1, nameof(stride));
        ArgumentOutOfRangeException.ThrowIfLessThan(stride.W, 1, nameof(stride));
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation.H, 1, nameof(dilation));
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation.W, 1, nameof(dilation));
        if (padding.Top < 0 || padding.Bottom < 0 || padding.Left < 0 || padding.Right < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "Padding must be >= 0 on every side.");
        if (inChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"inChannels ({inChannels}) must be divisible by groups ({groups}).");
        if (outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"outChannels ({outChannels}) must be divisible by groups ({groups}).");
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");

        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Activation = activation;
        _paddingMode = paddingMode;
        _options = new Conv2dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups };

        CheckParameterSize("the Conv2d weight", nameof(kernelSize), outChannels, inChannels / groups, kernelSize.H, kernelSize.W);
        int fanIn = inChannels / groups * kernelSize.H * kernelSize.W; // <= the weight's elements, checked above
        float bound = 1f / MathF.Sqrt(fanIn);
        Weight = RegisterParameter("weight", UniformInit(-bound, bound, outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        if (bias)
            Bias = RegisterParameter("bias", UniformInit(-bound, bound, outChannels));
    }

    private static Padding2d ResolvePadding(string padding, (int H, int W) kernel, (int H, int W) stride, (int H, int W) dilation)
    {
        ArgumentNullException.ThrowIfNull(padding);
        switch (padding.ToLowerInvariant())
        {
            case "valid":
                return Padding2d.Zero;
            case "same":
                if (stride != (1, 1))
                    throw new ArgumentException($"padding 'same' is not supported for strided convolutions (stride {stride}), as in PyTorch.", nameof(padding));
                return Padding2d.Same(kernel.H, kernel.W, dilation.H, dilation.W);
            default:
                throw new ArgumentException($"Invalid padding string '{padding}': expected 'same' or 'valid'.", nameof(padding));
        }
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride (vertical, horizontal).</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Zero padding per side (resolved, also for "same").</summary>
    public Padding2d Padding { get; }

    /// <summary>Dilation (vertical, horizontal).</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Activation fused into the convolution (applied to its output); <see cref="Activation.None"/> by default.</summary>
    public Activation Activation { get; set; }

    /// <summary>The weight, [out, in/groups, kH, kW].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>The options passed to <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions, Activation)"/>.</summary>
    public Conv2dOptions Options => _options;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Conv2d(input, Weight, Bias, _options, Activation);
    }

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size=({KernelSize.H}, {KernelSize.W}), stride=({Stride.H}, {Stride.W})";
        if (_paddingMode is not null)
            s += $", padding={_paddingMode}";
        else if (Padding != Padding2d.Zero)
            s += Padding.Top == Padding.Bottom && Padding.Left == Padding.Right
                ? $", padding=({Padding.Top}, {Padding.Left})"
                : $", padding={Padding}";
        if (Dilation != (1, 1)) s += $", dilation=({Dilation.H}, {Dilation.W})";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        if (Activation != Activation.None) s += $", activation={Activation}";
        return s;
    }
}
