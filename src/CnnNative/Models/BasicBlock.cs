using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// The ResNet basic block with torchvision's names (<c>torchvision.models.resnet.BasicBlock</c>): <c>conv1</c>
/// (3x3, stride, padding 1, no bias), <c>bn1</c>, ReLU, <c>conv2</c> (3x3, padding 1, no bias), <c>bn2</c>, plus
/// <c>downsample</c> = Sequential(1x1 conv with stride, no bias; BatchNorm) when the stride is not 1 or the channel
/// count changes; output = ReLU(bn2(conv2(...)) + shortcut(x)). ReLUs are fused into bn1 and the add.
/// State-dict keys match torchvision's (<c>conv1.weight</c>, <c>bn1.running_mean</c>, <c>downsample.0.weight</c>, ...).
/// </summary>
public sealed class BasicBlock : Module
{
    /// <summary>torchvision's <c>expansion</c> for this block type.</summary>
    public const int Expansion = 1;

    /// <summary>Creates the block.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of conv1 (and of the downsample conv).</param>
    public BasicBlock(int inPlanes, int planes, int stride = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inPlanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(planes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        InPlanes = inPlanes;
        Planes = planes;
        Stride = stride;
        Conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes, activation: Activation.Relu));
        RegisterModule("relu", new ReLU()); // torchvision has it as a child (no state); the forward fuses it
        Conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        Downsample = ProjectionShortcut(inPlanes, planes, stride) is { } shortcut
            ? RegisterModule("downsample", shortcut)
            : null;
    }

    /// <summary>
    /// torchvision's <c>downsample</c>: a 1x1 convolution with the block's stride and a batch norm,
    /// needed when the block changes resolution or width; null (the identity) otherwise. Shared by
    /// <see cref="BasicBlock"/> and <see cref="Bottleneck"/>.
    /// </summary>
    internal static Sequential? ProjectionShortcut(int inChannels, int outChannels, int stride) =>
        stride != 1 || inChannels != outChannels
            ? new Sequential
            {
                new Conv2d(inChannels, outChannels, 1, stride: stride, bias: false),
                new BatchNorm2d(outChannels),
            }
            : null;

    /// <summary>Input channels.</summary>
    public int InPlanes { get; }

    /// <summary>Output channels.</summary>
    public int Planes { get; }

    /// <summary>Stride of the block.</summary>
    public int Stride { get; }

    /// <summary>3x3 convolution with the block's stride.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm after conv1 (ReLU fused).</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>3x3 convolution, stride 1.</summary>
    public Conv2d Conv2 { get; }

    /// <summary>Batch norm after conv2.</summary>
    public BatchNorm2d Bn2 { get; }

    /// <summary>The projection shortcut (1x1 conv + BN), or null for the identity.</summary>
    public Sequential? Downsample { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        Tensor main;
        using (var c1 = Conv1.Forward(input))
        using (var b1 = Bn1.Forward(c1))
        using (var c2 = Conv2.Forward(b1))
        {
            main = Bn2.Forward(c2);
        }
        return Residual.AddResidual(main, Downsample, input, Activation.Relu);
    }
}
