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

    private readonly (Conv2d Conv, BatchNorm2d Bn)[] _mainPath;

    /// <summary>Creates the block.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of conv1 (and of the downsample conv).</param>
    public BasicBlock(int inPlanes, int planes, int stride = 1)
    {
        ResidualBlockParts.CheckArguments(inPlanes, planes, stride);
        InPlanes = inPlanes;
        Planes = planes;
        Stride = stride;
        Conv1 = RegisterModule("conv1", ResidualBlockParts.Conv(inPlanes, planes, 3, stride));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes, activation: Activation.Relu));
        RegisterModule("relu", new ReLU()); // torchvision has it as a child (no state); the forward fuses it
        Conv2 = RegisterModule("conv2", ResidualBlockParts.Conv(planes, planes, 3));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        Downsample = ResidualBlockParts.ProjectionShortcut(inPlanes, planes, stride) is { } shortcut
            ? RegisterModule("downsample", shortcut)
            : null;
        _mainPath = [(Conv1, Bn1), (Conv2, Bn2)];
    }

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
        return ResidualBlockParts.Forward(input, _mainPath, Downsample);
    }
}
