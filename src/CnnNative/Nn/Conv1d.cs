namespace CnnNative.Nn;

/// <summary>
/// 1D convolution, PyTorch's <c>nn.Conv1d</c> (zero padding, cross-correlation, [N, C, L] input), run by the 2D
/// kernels on a [N, C, 1, L] view. Parameters: <c>weight</c> [out, in/groups, k] and (if <c>bias</c>) <c>bias</c> [out],
/// initialised like PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups*k.
/// </summary>
public sealed class Conv1d : Module
{
    /// <summary><c>nn.Conv1d(in, out, kernel_size, stride, padding, dilation, groups, bias)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range or the channels are not divisible by groups.</exception>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(padding, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (inChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"inChannels ({inChannels}) must be divisible by groups ({groups}).");
        if (outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"outChannels ({outChannels}) must be divisible by groups ({groups}).");

        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Options = new Conv1dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups };
        CheckParameterSize("the Conv1d weight", nameof(kernelSize), outChannels, inChannels / groups, kernelSize);
        float bound = 1f / MathF.Sqrt(inChannels / groups * kernelSize); // <= the weight's elements, checked above
        Weight = RegisterParameter("weight", UniformInit(-bound, bound, outChannels, inChannels / groups, kernelSize));
        if (bias)
            Bias = RegisterParameter("bias", UniformInit(-bound, bound, outChannels));
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }

    /// <summary>Stride, padding, dilation and groups.</summary>
    public Conv1dOptions Options { get; }

    /// <summary>The weight, [out, in/groups, k].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Conv1d(input, Weight, Bias, Options);
    }

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size=({KernelSize},), stride=({Options.Stride},)";
        if (Options.Padding != 0) s += $", padding=({Options.Padding},)";
        if (Options.Dilation != 1) s += $", dilation=({Options.Dilation},)";
        if (Options.Groups != 1) s += $", groups={Options.Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}
