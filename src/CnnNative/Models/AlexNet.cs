using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// AlexNet with torchvision's module and state-dict names (<c>torchvision.models.alexnet</c>, the "one weird
/// trick" variant): <c>features</c> = Sequential(conv 11x11/4 pad 2 3-&gt;64, ReLU, maxpool 3/2, conv 5x5 pad 2
/// 64-&gt;192, ReLU, maxpool 3/2, conv 3x3 192-&gt;384, ReLU, conv 3x3 384-&gt;256, ReLU, conv 3x3 256-&gt;256, ReLU,
/// maxpool 3/2); <c>avgpool</c> = AdaptiveAvgPool2d((6, 6)); <c>classifier</c> = Sequential(Dropout, Linear(9216,
/// 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Linear(4096, classes)). A torchvision state dict saved as
/// safetensors loads with <c>strict: true</c>. Inputs of at least 63x63 work (the pooling adapts).
/// Initialisation: PyTorch's layer defaults (seed with <see cref="Cnn.ManualSeed"/>).
/// </summary>
public sealed class AlexNet : Module
{
    /// <summary>Creates the network in training mode.</summary>
    /// <param name="numClasses">Outputs of the last linear layer (1000 by default).</param>
    /// <param name="dropout">Probability of both dropout layers, in [0, 1].</param>
    public AlexNet(int numClasses = 1000, float dropout = 0.5f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        RegisterModule("features", new Sequential
        {
            new Conv2d(3, 64, 11, stride: 4, padding: 2), new ReLU(), new MaxPool2d(3, stride: 2),
            new Conv2d(64, 192, 5, padding: 2), new ReLU(), new MaxPool2d(3, stride: 2),
            new Conv2d(192, 384, 3, padding: 1), new ReLU(),
            new Conv2d(384, 256, 3, padding: 1), new ReLU(),
            new Conv2d(256, 256, 3, padding: 1), new ReLU(), new MaxPool2d(3, stride: 2),
        });
        RegisterModule("avgpool", new AdaptiveAvgPool2d((6, 6)));
        RegisterModule("classifier", new Sequential
        {
            new Dropout(dropout), new Linear(256 * 6 * 6, 4096), new ReLU(),
            new Dropout(dropout), new Linear(4096, 4096), new ReLU(),
            new Linear(4096, numClasses),
        });
    }

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>The convolutional trunk: [N, 3, H, W] -&gt; [N, 256, h, w].</summary>
    public Sequential Features => ModelParts.Child<Sequential>(this, "features");

    /// <summary>The classifier head: [N, 9216] -&gt; [N, classes].</summary>
    public Sequential Classifier => ModelParts.Child<Sequential>(this, "classifier");

    /// <summary>[N, 3, H, W] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ModelParts.RequireImages(input, 3, nameof(AlexNet));
        return ModelParts.ForwardChildren(this, input, "avgpool");
    }
}
