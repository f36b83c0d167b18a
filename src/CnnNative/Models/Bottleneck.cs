using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// The ResNet bottleneck block with torchvision's names (<c>torchvision.models.resnet.Bottleneck</c>, v1.5: the
/// stride is on the 3x3 conv): <c>conv1</c> (1x1, no bias), <c>bn1</c>, ReLU, <c>conv2</c> (3x3, stride, padding 1,
/// no bias), <c>bn2</c>, ReLU, <c>conv3</c> (1x1 to planes * 4, no bias), <c>bn3</c>, plus <c>downsample</c> =
/// Sequential(1x1 conv with stride, no bias; BatchNorm) when the stride is not 1 or the channel count changes;
/// output = ReLU(bn3(conv3(...)) + shortcut(x)). ReLUs are fused into bn1, bn2 and the add.
/// State-dict keys match torchvision's (<c>conv3.weight</c>, <c>bn3.running_var</c>, <c>downsample.1.weight</c>, ...).
/// </summary>
public sealed class Bottleneck : Module
{
    /// <summary>torchvision's <c>expansion</c> for this block type: the output has planes * 4 channels.</summary>
    public const int Expansion = 4;

    private readonly (Conv2d Conv, BatchNorm2d Bn)[] _mainPath;

    /// <summary>Creates the block.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Width of the 1x1 and 3x3 convolutions; the block outputs <c>planes * 4</c> channels.</param>
    /// <param name="stride">Stride of conv2 (and of the downsample conv).</param>
    public Bottleneck(int inPlanes, int planes, int stride = 1)
    {
        ResidualBlockParts.CheckArguments(inPlanes, planes, stride);
        InPlanes = inPlanes;
        Planes = planes;
        Stride = stride;
        int outPlanes = planes * Expansion;
        Conv1 = RegisterModule("conv1", ResidualBlockParts.Conv(inPlanes, planes, 1));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes, activation: Activation.Relu));
        Conv2 = RegisterModule("conv2", ResidualBlockParts.Conv(planes, planes, 3, stride));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes, activation: Activation.Relu));
        Conv3 = RegisterModule("conv3", ResidualBlockParts.Conv(planes, outPlanes, 1));
        Bn3 = RegisterModule("bn3", new BatchNorm2d(outPlanes));
        RegisterModule("relu", new ReLU()); // torchvision has it as a child (no state); the forward fuses it
        Downsample = ResidualBlockParts.ProjectionShortcut(inPlanes, outPlanes, stride) is { } shortcut
            ? RegisterModule("downsample", shortcut)
            : null;
        _mainPath = [(Conv1, Bn1), (Conv2, Bn2), (Conv3, Bn3)];
    }

    /// <summary>Input channels.</summary>
    public int InPlanes { get; }

    /// <summary>Width of the inner convolutions (the output has <c>Planes * 4</c> channels).</summary>
    public int Planes { get; }

    /// <summary>Stride of the block.</summary>
    public int Stride { get; }

    /// <summary>1x1 convolution, in -&gt; planes.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm after conv1 (ReLU fused).</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>3x3 convolution with the block's stride, planes -&gt; planes.</summary>
    public Conv2d Conv2 { get; }

    /// <summary>Batch norm after conv2 (ReLU fused).</summary>
    public BatchNorm2d Bn2 { get; }

    /// <summary>1x1 convolution, planes -&gt; planes * 4.</summary>
    public Conv2d Conv3 { get; }

    /// <summary>Batch norm after conv3.</summary>
    public BatchNorm2d Bn3 { get; }

    /// <summary>The projection shortcut (1x1 conv + BN), or null for the identity.</summary>
    public Sequential? Downsample { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return ResidualBlockParts.Forward(input, _mainPath, Downsample);
    }
}
