using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// ResNet (He et al. 2015, torchvision's v1.5 variant) with torchvision's module and state-dict names
/// (<c>torchvision.models.resnet18/34/50</c>): <c>conv1</c> (7x7, stride 2, padding 3, no bias), <c>bn1</c>,
/// <c>relu</c>, <c>maxpool</c> (3x3, stride 2, padding 1), <c>layer1</c>..<c>layer4</c> (Sequentials of blocks
/// "0", "1", ...; 64/128/256/512 planes, stride 2 in the first block of layer2..4), <c>avgpool</c>
/// (global average pooling), <c>fc</c>. A torchvision state dict (e.g. saved as safetensors) loads with
/// <c>strict: true</c>. Any input of at least 32x32 works (the pooling adapts). ReLUs are fused into the
/// preceding op. Build one with <see cref="ResNet18"/>, <see cref="ResNet34"/> or <see cref="ResNet50"/>.
/// </summary>
public sealed class ResNet : Module
{
    private ResNet(bool bottleneck, int[] layers, int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        Conv1 = RegisterModule("conv1", new Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(64, activation: Activation.Relu));
        RegisterModule("relu", new ReLU()); // torchvision has it as a child (no state); the forward fuses it
        MaxPool = RegisterModule("maxpool", new MaxPool2d(3, stride: 2, padding: 1));
        int inPlanes = 64;
        var stages = new Sequential[4];
        for (int s = 0; s < 4; s++)
        {
            int planes = 64 << s;
            var stage = new Sequential();
            for (int b = 0; b < layers[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                stage.Add(bottleneck ? new Bottleneck(inPlanes, planes, stride) : new BasicBlock(inPlanes, planes, stride));
                inPlanes = planes * expansion;
            }

            stages[s] = RegisterModule("layer" + (s + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), stage);
        }

        Layer1 = stages[0];
        Layer2 = stages[1];
        Layer3 = stages[2];
        Layer4 = stages[3];
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        RegisterModule("fc", new Linear(512 * expansion, numClasses));
        FeatureCount = 512 * expansion;
    }

    /// <summary>ResNet-18 (BasicBlock, [2, 2, 2, 2]), as <c>torchvision.models.resnet18(num_classes=...)</c>.</summary>
    /// <param name="numClasses">Outputs of fc (1000 by default).</param>
    /// <returns>The network, randomly initialised (seed with <see cref="Cnn.ManualSeed"/>), in training mode.</returns>
    public static ResNet ResNet18(int numClasses = 1000) => new(false, [2, 2, 2, 2], numClasses);

    /// <summary>ResNet-34 (BasicBlock, [3, 4, 6, 3]), as <c>torchvision.models.resnet34(num_classes=...)</c>.</summary>
    /// <param name="numClasses">Outputs of fc (1000 by default).</param>
    /// <returns>The network, randomly initialised (seed with <see cref="Cnn.ManualSeed"/>), in training mode.</returns>
    public static ResNet ResNet34(int numClasses = 1000) => new(false, [3, 4, 6, 3], numClasses);

    /// <summary>ResNet-50 (Bottleneck, [3, 4, 6, 3]), as <c>torchvision.models.resnet50(num_classes=...)</c>.</summary>
    /// <param name="numClasses">Outputs of fc (1000 by default).</param>
    /// <returns>The network, randomly initialised (seed with <see cref="Cnn.ManualSeed"/>), in training mode.</returns>
    public static ResNet ResNet50(int numClasses = 1000) => new(true, [3, 4, 6, 3], numClasses);

    /// <summary>Number of classes (outputs of fc).</summary>
    public int NumClasses { get; }

    /// <summary>Channels entering fc (512 for ResNet-18/34, 2048 for ResNet-50).</summary>
    public int FeatureCount { get; }

    /// <summary>Stem convolution, 3 -&gt; 64 channels, 7x7, stride 2, padding 3.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Stem batch norm (ReLU fused).</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>Stem max pooling, 3x3, stride 2, padding 1.</summary>
    public MaxPool2d MaxPool { get; }

    /// <summary>Stage 1: 64 planes, stride 1.</summary>
    public Sequential Layer1 { get; }

    /// <summary>Stage 2: 128 planes, stride 2.</summary>
    public Sequential Layer2 { get; }

    /// <summary>Stage 3: 256 planes, stride 2.</summary>
    public Sequential Layer3 { get; }

    /// <summary>Stage 4: 512 planes, stride 2.</summary>
    public Sequential Layer4 { get; }

    /// <summary>Global average pooling.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier, features -&gt; classes (logits).</summary>
    public Linear Fc => ModelParts.Child<Linear>(this, "fc"); // looked up, so ReplaceChild("fc", ...) takes effect

    /// <summary>[N, 3, H, W] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        if (shape.Length != 4 || shape[1] != 3)
            throw new ArgumentException($"ResNet expects input [N, 3, H, W], got [{string.Join(", ", shape)}].", nameof(input));

        using (var c1 = Conv1.Forward(input))
        using (var b1 = Bn1.Forward(c1))
        using (var p1 = MaxPool.Forward(b1))
        using (var l1 = Layer1.Forward(p1))
        using (var l2 = Layer2.Forward(l1))
        using (var l3 = Layer3.Forward(l2))
        using (var l4 = Layer4.Forward(l3))
        using (var pooled = AvgPool.Forward(l4))
        using (var flat = pooled.Reshape(shape[0], FeatureCount))
        {
            return Fc.Forward(flat);
        }
    }
}
