using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// VGG (Simonyan and Zisserman 2014) with torchvision's module and state-dict names (<c>torchvision.models.vgg11,
/// vgg11_bn, vgg16, vgg16_bn</c>): <c>features</c> = Sequential of 3x3 convolutions (padding 1, with bias), each
/// followed by ReLU (or BatchNorm then ReLU with <c>batchNorm</c>), and 2x2 max pools, as torchvision's
/// <c>make_layers(cfg)</c>; <c>avgpool</c> = AdaptiveAvgPool2d((7, 7)); <c>classifier</c> = Sequential(Linear(25088,
/// 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096, classes)). A torchvision state dict
/// saved as safetensors loads with <c>strict: true</c>. Inputs of at least 32x32 work (the pooling adapts).
/// Initialisation: PyTorch's layer defaults (seed with <see cref="Cnn.ManualSeed"/>), not torchvision's
/// kaiming-normal re-initialisation. Build one with <see cref="Vgg11"/> or <see cref="Vgg16"/>.
/// </summary>
public sealed class Vgg : Module
{
    /// <summary>A max pool in a configuration (torchvision's "M").</summary>
    private const int Pool = 0;

    /// <summary>torchvision's cfg "A" (VGG-11): output channels of each conv, <see cref="Pool"/> for a max pool.</summary>
    private static readonly int[] ConfigA = [64, Pool, 128, Pool, 256, 256, Pool, 512, 512, Pool, 512, 512, Pool];

    /// <summary>torchvision's cfg "D" (VGG-16).</summary>
    private static readonly int[] ConfigD = [64, 64, Pool, 128, 128, Pool, 256, 256, 256, Pool, 512, 512, 512, Pool, 512, 512, 512, Pool];

    private Vgg(char config, int numClasses, bool batchNorm, float dropout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        BatchNorm = batchNorm;
        var features = MakeLayers(config, batchNorm);
        RegisterModule("features", features);
        RegisterModule("avgpool", new AdaptiveAvgPool2d((7, 7)));
        RegisterModule("classifier", new Sequential
        {
            new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(dropout),
            new Linear(4096, 4096), new ReLU(), new Dropout(dropout),
            new Linear(4096, numClasses),
        });
    }

    /// <summary>
    /// torchvision's <c>make_layers(cfgs[config], batch_norm)</c>: the <c>features</c> trunk of configuration "A" (VGG-11) or
    /// "D" (VGG-16): per entry a 3x3 convolution (padding 1, with bias) then ReLU, or conv, BatchNorm2d, ReLU; a 2x2
    /// max pool for each "M".
    /// </summary>
    internal static Sequential MakeLayers(char config, bool batchNorm)
    {
        int[] cfg = config switch
        {
            'A' => ConfigA,
            'D' => ConfigD,
            _ => throw new ArgumentOutOfRangeException(nameof(config), config, "VGG configuration must be 'A' (VGG-11) or 'D' (VGG-16)."),
        };
        var features = new Sequential();
        int inChannels = 3;
        foreach (int v in cfg)
        {
            if (v == Pool)
            {
                features.Add(new MaxPool2d(2, stride: 2));
                continue;
            }

            features.Add(new Conv2d(inChannels, v, 3, padding: 1));
            if (batchNorm)
                features.Add(new BatchNorm2d(v));
            features.Add(new ReLU());
            inChannels = v;
        }

        return features;
    }

    /// <summary>VGG-11 (cfg "A": 8 convolutions), as <c>torchvision.models.vgg11</c> or, with <paramref name="batchNorm"/>, <c>vgg11_bn</c>.</summary>
    /// <param name="numClasses">Outputs of the last linear layer (1000 by default).</param>
    /// <param name="batchNorm">Whether a BatchNorm2d follows every convolution.</param>
    /// <param name="dropout">Probability of both dropout layers of the classifier, in [0, 1].</param>
    /// <returns>The network, randomly initialised, in training mode.</returns>
    public static Vgg Vgg11(int numClasses = 1000, bool batchNorm = false, float dropout = 0.5f) => new('A', numClasses, batchNorm, dropout);

    /// <summary>VGG-16 (cfg "D": 13 convolutions), as <c>torchvision.models.vgg16</c> or, with <paramref name="batchNorm"/>, <c>vgg16_bn</c>.</summary>
    /// <param name="numClasses">Outputs of the last linear layer (1000 by default).</param>
    /// <param name="batchNorm">Whether a BatchNorm2d follows every convolution.</param>
    /// <param name="dropout">Probability of both dropout layers of the classifier, in [0, 1].</param>
    /// <returns>The network, randomly initialised, in training mode.</returns>
    public static Vgg Vgg16(int numClasses = 1000, bool batchNorm = false, float dropout = 0.5f) => new('D', numClasses, batchNorm, dropout);

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>Whether every convolution is followed by a batch norm (the <c>_bn</c> variants).</summary>
    public bool BatchNorm { get; }

    /// <summary>The convolutional trunk: [N, 3, H, W] -&gt; [N, 512, H/32, W/32].</summary>
    public Sequential Features => ModelParts.Child<Sequential>(this, "features");

    /// <summary>The classifier head: [N, 25088] -&gt; [N, classes].</summary>
    public Sequential Classifier => ModelParts.Child<Sequential>(this, "classifier");

    /// <summary>[N, 3, H, W] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ModelParts.RequireImages(input, 3, nameof(Vgg));
        return ModelParts.ForwardChildren(this, input, "avgpool");
    }
}
