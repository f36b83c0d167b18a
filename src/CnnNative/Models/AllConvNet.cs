using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// All-CNN-C (Springenberg et al. 2015, "Striving for Simplicity: The All Convolutional Net"): no pooling layers and
/// no linear layer; 3x3 convolutions with stride 2 downsample, 1x1 convolutions mix channels, and global average
/// pooling of the last convolution's class maps gives the logits. <c>features</c> = Sequential(
/// Dropout(0.2), conv3x3 in-&gt;96 pad 1, ReLU, conv3x3 96-&gt;96 pad 1, ReLU, conv3x3 96-&gt;96 stride 2 pad 1, ReLU,
/// Dropout(0.5), conv3x3 96-&gt;192 pad 1, ReLU, conv3x3 192-&gt;192 pad 1, ReLU, conv3x3 192-&gt;192 stride 2 pad 1, ReLU,
/// Dropout(0.5), conv3x3 192-&gt;192 (valid), ReLU, conv1x1 192-&gt;192, ReLU, conv1x1 192-&gt;classes, ReLU), then
/// <c>avgpool</c> (global, no state). As in the paper's table the class maps pass a ReLU before the averaging. For
/// 32x32 inputs (CIFAR) the maps are 32 -&gt; 16 -&gt; 8 -&gt; 6x6 before the averaging; inputs need at least 17x17.
/// The PyTorch reference (same state-dict keys, <c>features.1.weight</c> ... <c>features.20.bias</c>) is
/// <c>AllConvNet</c> in <c>tests/oracle/ops_zoo.py</c>. Initialisation: PyTorch's layer defaults.
/// </summary>
public sealed class AllConvNet : Module
{
    /// <summary>Creates the network in training mode.</summary>
    /// <param name="inChannels">Input channels (3 for RGB).</param>
    /// <param name="numClasses">Number of classes: channels of the last 1x1 convolution (10 by default).</param>
    public AllConvNet(int inChannels = 3, int numClasses = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        InChannels = inChannels;
        NumClasses = numClasses;
        RegisterModule("features", new Sequential
        {
            new Dropout(0.2),
            new Conv2d(inChannels, 96, 3, padding: 1), new ReLU(),
            new Conv2d(96, 96, 3, padding: 1), new ReLU(),
            new Conv2d(96, 96, 3, stride: 2, padding: 1), new ReLU(),
            new Dropout(0.5),
            new Conv2d(96, 192, 3, padding: 1), new ReLU(),
            new Conv2d(192, 192, 3, padding: 1), new ReLU(),
            new Conv2d(192, 192, 3, stride: 2, padding: 1), new ReLU(),
            new Dropout(0.5),
            new Conv2d(192, 192, 3), new ReLU(),
            new Conv2d(192, 192, 1), new ReLU(),
            new Conv2d(192, numClasses, 1), new ReLU(),
        });
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>The convolutions: [N, in, H, W] -&gt; [N, classes, h, w] class maps.</summary>
    public Sequential Features => ModelParts.Child<Sequential>(this, "features");

    /// <summary>[N, in, H, W] images -&gt; [N, classes] logits (averaged class maps).</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ModelParts.RequireImages(input, InChannels, nameof(AllConvNet));
        return ModelParts.ForwardChildren(this, input, "avgpool");
    }
}
