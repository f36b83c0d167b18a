using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// The model zoo by name: every model of <see cref="CnnNative.Models"/>, built randomly initialised (seed with
/// <see cref="Cnn.ManualSeed"/>) and in training mode. The torchvision names (alexnet, vgg11, vgg11_bn, vgg16,
/// vgg16_bn, resnet18, resnet34, resnet50, mobilenet_v2, googlenet) have torchvision's state-dict keys, so
/// a torchvision state dict saved as safetensors loads with <c>strict: true</c>.
/// </summary>
public static class ModelZoo
{
    private static readonly int[] Mnist = [1, 1, 28, 28];
    private static readonly int[] ImageNet = [1, 3, 224, 224];
    private static readonly int[] Cifar = [1, 3, 32, 32];

    /// <summary>Name -&gt; (factory taking the class count, default input shape with batch 1).</summary>
    private static readonly (string Name, Func<int, Module> Create, int[] Input)[] Entries =
    [
        ("lenet5", n => new LeNet5(n), Mnist),
        ("cnn-bn", n => new CnnBn(n), Mnist),
        ("alexnet", n => new AlexNet(n), ImageNet),
        ("vgg11", n => Vgg.Vgg11(n), ImageNet),
        ("vgg11_bn", n => Vgg.Vgg11(n, batchNorm: true), ImageNet),
        ("vgg16", n => Vgg.Vgg16(n), ImageNet),
        ("vgg16_bn", n => Vgg.Vgg16(n, batchNorm: true), ImageNet),
        ("resnet18", n => ResNet.ResNet18(n), ImageNet),
        ("resnet34", n => ResNet.ResNet34(n), ImageNet),
        ("resnet50", n => ResNet.ResNet50(n), ImageNet),
        ("mobilenet_v2", n => new MobileNetV2(n), ImageNet),
        ("googlenet", n => new GoogLeNet(n), ImageNet),
        ("allconvnet", n => new AllConvNet(3, n), Cifar),
    ];

    /// <summary>The model names, in a fixed order.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Entries.Select(e => e.Name).ToArray());

    /// <summary>Builds the model called <paramref name="name"/> (one of <see cref="Names"/>, case-sensitive).</summary>
    /// <param name="name">The model's name.</param>
    /// <param name="numClasses">Number of outputs (logits).</param>
    /// <returns>The model, randomly initialised, in training mode; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">Unknown name (the message lists the known ones).</exception>
    public static Module Create(string name, int numClasses = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        return Find(name).Create(numClasses);
    }

    /// <summary>
    /// The input shape the model is usually run at, batch 1: [1, 1, 28, 28] for lenet5 and cnn-bn, [1, 3, 32, 32]
    /// for allconvnet, [1, 3, 224, 224] for the ImageNet models (which accept other sizes too).
    /// </summary>
    /// <param name="name">The model's name.</param>
    /// <returns>A new array [N, C, H, W].</returns>
    /// <exception cref="ArgumentException">Unknown name (the message lists the known ones).</exception>
    public static int[] DefaultInputShape(string name) => (int[])Find(name).Input.Clone();

    private static (string Name, Func<int, Module> Create, int[] Input) Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var entry in Entries)
        {
            if (entry.Name == name)
                return entry;
        }

        throw new ArgumentException($"Unknown model '{name}'; known models: {string.Join(", ", Names)}.", nameof(name));
    }
}
