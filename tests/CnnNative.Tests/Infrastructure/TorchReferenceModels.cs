using TorchSharp;
using static TorchSharp.torch.nn;
using TModule = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The torch models CnnNative's are compared with, built with TorchSharp's modules under torchvision's (and the
/// CnnNative models') child names, so that the state-dict keys are the same one to one: TorchVision's own models where
/// it has them (ResNet-18/34/50, AlexNet, VGG-16-BN, MobileNetV2, GoogLeNet), by hand where it does not (LeNet-5,
/// BasicBlock and Bottleneck alone, Inception alone, VGG's trunk, All-CNN-C, the Sequential + Residual composite, the
/// small CNN and the two-head network of the training tests). Modules without parameters (ReLU, pooling) get names of
/// their own where torch's forward calls a function instead: they add no state-dict key.
/// </summary>
public static class TorchReferenceModels
{
    /// <summary>The architectures <see cref="Create"/> builds from TorchVision.</summary>
    public static readonly string[] TorchVisionArchs = ["resnet18", "resnet34", "resnet50", "alexnet", "vgg16_bn", "mobilenet_v2", "googlenet"];

    /// <summary>TorchVision's <paramref name="arch"/> (one of <see cref="TorchVisionArchs"/>) with <paramref name="classes"/> outputs.</summary>
    public static TModule Create(string arch, int classes) => arch switch
    {
        "resnet18" => torchvision.models.resnet18(classes),
        "resnet34" => torchvision.models.resnet34(classes),
        "resnet50" => torchvision.models.resnet50(classes),
        "alexnet" => torchvision.models.alexnet(classes),
        "vgg16_bn" => torchvision.models.vgg16_bn(classes),
        "mobilenet_v2" => torchvision.models.mobilenet_v2(classes),
        "googlenet" => torchvision.models.googlenet(classes),
        _ => throw new ArgumentException($"no TorchVision model '{arch}' (expected one of {string.Join(", ", TorchVisionArchs)})", nameof(arch)),
    };

    /// <summary>LeNet-5 (tests/oracle/reference_lenet5.py): conv1 1->6 5x5 pad 2, conv2 6->16 5x5, fc 400-120-84-10.</summary>
    public static TModule LeNet5() => Sequential(
        ("conv1", Conv2d(1, 6, 5, padding: 2)), ("relu1", ReLU()), ("pool1", MaxPool2d(2)),
        ("conv2", Conv2d(6, 16, 5)), ("relu2", ReLU()), ("pool2", MaxPool2d(2)), ("flatten", Flatten()),
        ("fc1", Linear(400, 120)), ("relu3", ReLU()), ("fc2", Linear(120, 84)), ("relu4", ReLU()), ("fc3", Linear(84, 10)));

    private static TModule Conv3x3(long inPlanes, long outPlanes, long stride = 1) => Conv2d(inPlanes, outPlanes, 3, stride: stride, padding: 1, bias: false);

    private static TModule Conv1x1(long inPlanes, long outPlanes, long stride = 1) => Conv2d(inPlanes, outPlanes, 1, stride: stride, bias: false);

    /// <summary>torchvision's resnet.BasicBlock with the downsample ResNet._make_layer gives it (1x1 conv + BN when the stride or width changes).</summary>
    public static TModule BasicBlock(int inPlanes, int planes, int stride) => new Residual(
        [("conv1", Conv3x3(inPlanes, planes, stride)), ("bn1", BatchNorm2d(planes)), ("relu", ReLU()),
         ("conv2", Conv3x3(planes, planes)), ("bn2", BatchNorm2d(planes))],
        Downsample(inPlanes, planes, stride));

    /// <summary>torchvision's resnet.Bottleneck (v1.5: the stride on the 3x3) with ResNet's downsample; outputs planes * 4 channels.</summary>
    public static TModule Bottleneck(int inPlanes, int planes, int stride) => new Residual(
        [("conv1", Conv1x1(inPlanes, planes)), ("bn1", BatchNorm2d(planes)), ("relu1", ReLU()),
         ("conv2", Conv3x3(planes, planes, stride)), ("bn2", BatchNorm2d(planes)), ("relu2", ReLU()),
         ("conv3", Conv1x1(planes, planes * 4)), ("bn3", BatchNorm2d(planes * 4))],
        Downsample(inPlanes, planes * 4, stride));

    private static (string, TModule)? Downsample(int inPlanes, int width, int stride) =>
        stride != 1 || inPlanes != width ? ("downsample", Sequential(Conv1x1(inPlanes, width, stride), BatchNorm2d(width))) : null;

    /// <summary>
    /// The composite of ModelTests (tests/oracle/torch_oracle.py make_composite): Conv-BN-ReLU-MaxPool, an identity
    /// Residual, a projecting Residual (children "main" and "shortcut", as CnnNative.Nn.Residual), global average pool,
    /// Flatten, Dropout, Linear, LogSoftmax.
    /// </summary>
    public static TModule Composite(int inChannels, int c, int classes) => Sequential(
        Conv2d(inChannels, c, 3, padding: 1), BatchNorm2d(c), ReLU(), MaxPool2d(3, 2, 1),
        new Residual([("main", Sequential(Conv3x3(c, c), BatchNorm2d(c), ReLU(), Conv3x3(c, c), BatchNorm2d(c)))], null),
        new Residual(
            [("main", Sequential(Conv3x3(c, 2 * c, 2), BatchNorm2d(2 * c), ReLU(), Conv3x3(2 * c, 2 * c), BatchNorm2d(2 * c)))],
            ("shortcut", Sequential(Conv1x1(c, 2 * c, 2), BatchNorm2d(2 * c)))),
        AdaptiveAvgPool2d(1), Flatten(), Dropout(0.5), Linear(2 * c, classes), LogSoftmax(1));

    /// <summary>torchvision's googlenet.BasicConv2d: conv (no bias), BatchNorm with eps 1e-3, ReLU.</summary>
    private static TModule BasicConv2d(long inChannels, long outChannels, long kernel, long padding = 0) => Sequential(
        ("conv", Conv2d(inChannels, outChannels, kernel, padding: padding, bias: false)), ("bn", BatchNorm2d(outChannels, eps: 1e-3)), ("relu", ReLU()));

    /// <summary>torchvision's googlenet.Inception alone (the 5x5 branch is 3x3 there too, a known torchvision quirk).</summary>
    public static TModule Inception(int inChannels, int ch1x1, int ch3x3red, int ch3x3, int ch5x5red, int ch5x5, int poolProj) => new Concat(
        ("branch1", BasicConv2d(inChannels, ch1x1, 1)),
        ("branch2", Sequential(BasicConv2d(inChannels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, 1))),
        ("branch3", Sequential(BasicConv2d(inChannels, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, 1))),
        ("branch4", Sequential(MaxPool2d(3, 1, 1, ceil_mode: true), BasicConv2d(inChannels, poolProj, 1))));

    /// <summary>torchvision's vgg.make_layers(cfgs[cfg], batch_norm): VGG's trunk (cfg 'A': VGG-11, 'D': VGG-16).</summary>
    public static TModule VggFeatures(char cfg, bool batchNorm)
    {
        int[] layers = cfg switch
        {
            'A' => [64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1],
            'D' => [64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1],
            _ => throw new ArgumentOutOfRangeException(nameof(cfg), cfg, "expected 'A' (VGG-11) or 'D' (VGG-16)"),
        };
        var modules = new List<TModule>();
        long inChannels = 3;
        foreach (int v in layers)
        {
            if (v < 0)
            {
                modules.Add(MaxPool2d(2, 2));
                continue;
            }

            modules.Add(Conv2d(inChannels, v, 3, padding: 1));
            if (batchNorm)
            {
                modules.Add(BatchNorm2d(v));
            }

            modules.Add(ReLU());
            inChannels = v;
        }

        return Sequential(modules);
    }

    /// <summary>All-CNN-C (tests/oracle/ops_zoo.py AllConvNet): strided 3x3 convolutions, 1x1 class maps, global average pool.</summary>
    public static TModule AllConvNet(int inChannels, int classes) => Sequential(
        ("features", Sequential(
            Dropout(0.2),
            Conv2d(inChannels, 96, 3, padding: 1), ReLU(), Conv2d(96, 96, 3, padding: 1), ReLU(), Conv2d(96, 96, 3, stride: 2, padding: 1), ReLU(),
            Dropout(0.5),
            Conv2d(96, 192, 3, padding: 1), ReLU(), Conv2d(192, 192, 3, padding: 1), ReLU(), Conv2d(192, 192, 3, stride: 2, padding: 1), ReLU(),
            Dropout(0.5),
            Conv2d(192, 192, 3), ReLU(), Conv2d(192, 192, 1), ReLU(), Conv2d(192, classes, 1), ReLU())),
        ("avgpool", AdaptiveAvgPool2d(1)), ("flatten", Flatten()));

    /// <summary>The BN-free, dropout-free CNN of the 20-step SGD test: [N, 1, 8, 8] -> 10 logits.</summary>
    public static TModule SmallCnn() => Sequential(
        Conv2d(1, 4, 3, padding: 1), ReLU(), MaxPool2d(2), Conv2d(4, 8, 3, padding: 1), Tanh(), AvgPool2d(2), Flatten(), Linear(32, 10));

    /// <summary>
    /// activation(main(x) + (shortcut(x) or x)) with ReLU: the main path's children are registered under the given names
    /// directly (torchvision's blocks: conv1, bn1, ...) and run in order; the shortcut, if any, under its name.
    /// </summary>
    private sealed class Residual : TModule
    {
        private readonly List<TModule> _main = [];
        private readonly TModule? _shortcut;

        public Residual((string Name, TModule Module)[] main, (string Name, TModule Module)? shortcut)
            : base(nameof(Residual))
        {
            foreach (var (name, module) in main)
            {
                _main.Add(module);
                register_module(name, module);
            }

            if (shortcut is { } s)
            {
                _shortcut = s.Module;
                register_module(s.Name, s.Module);
            }
        }

        public override TT forward(TT x)
        {
            using var scope = torch.NewDisposeScope();
            TT y = x;
            foreach (TModule m in _main)
            {
                y = m.call(y);
            }

            TT sum = y + (_shortcut?.call(x) ?? x);
            return functional.relu(sum).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The named branches run on the same input, their outputs concatenated along the channels.</summary>
    private sealed class Concat : TModule
    {
        private readonly List<TModule> _branches = [];

        public Concat(params (string Name, TModule Module)[] branches)
            : base(nameof(Concat))
        {
            foreach (var (name, module) in branches)
            {
                _branches.Add(module);
                register_module(name, module);
            }
        }

        public override TT forward(TT x)
        {
            using var scope = torch.NewDisposeScope();
            return torch.cat(_branches.Select(b => b.call(x)).ToList(), 1).MoveToOuterDisposeScope();
        }
    }
}

/// <summary>The two-head network of ModelGradTests (trunk, head_a 5-way, head_b regression), torch side.</summary>
public sealed class TorchMultiTask : torch.nn.Module<TT, (TT A, TT B)>
{
    private readonly TModule trunk;
    private readonly TModule head_a;
    private readonly TModule head_b;

    public TorchMultiTask()
        : base(nameof(TorchMultiTask))
    {
        trunk = Sequential(Conv2d(1, 4, 3, padding: 1), ReLU(), MaxPool2d(2), Conv2d(4, 8, 3, padding: 1), ReLU(), Flatten());
        head_a = Linear(128, 5);
        head_b = Linear(128, 1);
        RegisterComponents();
    }

    public override (TT A, TT B) forward(TT x)
    {
        using var scope = torch.NewDisposeScope();
        TT f = trunk.call(x);
        return (head_a.call(f).MoveToOuterDisposeScope(), head_b.call(f).MoveToOuterDisposeScope());
    }
}
