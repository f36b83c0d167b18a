using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// "cnn-bn": a small VGG-style network with batch normalization for 28x28 single-channel images
/// (Fashion-MNIST). Two stages, each conv3x3-BN-ReLU-conv3x3-BN-ReLU then max-pool 2 (28 -&gt; 14 -&gt; 7),
/// then dropout and one linear layer. State-dict keys follow torchvision's <c>features</c> / <c>classifier</c>
/// layout (<c>features.0.weight</c>, <c>features.1.running_mean</c>, ..., <c>classifier.1.weight</c>).
/// The PyTorch equivalent (with the default widths 24 and 48):
/// <code>
/// def stage(cin, cout):
///     return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
///             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
///             nn.MaxPool2d(2)]
/// class CnnBn(nn.Module):
///     def __init__(self, num_classes=10, width1=24, width2=48, dropout=0.3):
///         super().__init__()
///         self.features = nn.Sequential(*stage(1, width1), *stage(width1, width2))
///         self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(width2 * 7 * 7, num_classes))
///     def forward(self, x):
///         return self.classifier(torch.flatten(self.features(x), 1))
/// </code>
/// The convolutions have no bias (the batch norm that follows each one has its own shift).
/// </summary>
public sealed class CnnBn : Module
{
    /// <summary>Width of the first stage by default.</summary>
    public const int DefaultWidth1 = 24;

    /// <summary>Width of the second stage by default.</summary>
    public const int DefaultWidth2 = 48;

    /// <summary>Dropout probability before the linear head by default.</summary>
    public const double DefaultDropout = 0.3;

    /// <summary>Creates the network with PyTorch-style random initialisation (seed with <see cref="Cnn.ManualSeed"/>).</summary>
    /// <param name="numClasses">Outputs of the linear head (10 by default).</param>
    /// <param name="width1">Channels of the first stage (28x28).</param>
    /// <param name="width2">Channels of the second stage (14x14).</param>
    /// <param name="dropout">Dropout probability before the linear head, in [0, 1).</param>
    public CnnBn(int numClasses = 10, int width1 = DefaultWidth1, int width2 = DefaultWidth2, double dropout = DefaultDropout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width1, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width2, 1);
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");

        NumClasses = numClasses;
        Width1 = width1;
        Width2 = width2;
        Features = RegisterModule("features", new Sequential());
        AddStage(Features, 1, width1);
        AddStage(Features, width1, width2);
        Classifier = RegisterModule("classifier", new Sequential
        {
            new Dropout(dropout),
            new Linear(width2 * 7 * 7, numClasses),
        });
    }

    private static void AddStage(Sequential features, int inChannels, int outChannels)
    {
        features.Add(new Conv2d(inChannels, outChannels, 3, padding: 1, bias: false));
        features.Add(new BatchNorm2d(outChannels));
        features.Add(new ReLU());
        features.Add(new Conv2d(outChannels, outChannels, 3, padding: 1, bias: false));
        features.Add(new BatchNorm2d(outChannels));
        features.Add(new ReLU());
        features.Add(new MaxPool2d(2));
    }

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the first stage.</summary>
    public int Width1 { get; }

    /// <summary>Channels of the second stage.</summary>
    public int Width2 { get; }

    /// <summary>The two convolutional stages: [N, 1, 28, 28] -&gt; [N, width2, 7, 7].</summary>
    public Sequential Features { get; }

    /// <summary>Dropout then the linear head: [N, width2 * 49] -&gt; [N, classes].</summary>
    public Sequential Classifier { get; }

    /// <summary>[N, 1, 28, 28] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        if (shape.Length != 4 || shape[1] != 1 || shape[2] != 28 || shape[3] != 28)
            throw new ArgumentException($"CnnBn expects input [N, 1, 28, 28], got [{string.Join(", ", shape)}].", nameof(input));

        using (var features = Features.Forward(input))
        using (var flat = features.Reshape(shape[0], Width2 * 7 * 7))
        {
            return Classifier.Forward(flat);
        }
    }
}
