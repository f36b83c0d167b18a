using System.Diagnostics;
using System.Globalization;
using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;
using TorchSharp;
using TModule = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// The classic CNNs of the model zoo against TorchVision's (TorchSharp 0.107, libtorch 2.10) and, where TorchVision
/// has no such model or part (All-CNN-C, VGG's trunk alone, one Inception module), the torch reference of
/// <see cref="TorchReferenceModels"/>. The torch model is built seeded, gets random BatchNorm running statistics and
/// affine parameters, runs in eval mode and writes its state dict as safetensors; the <see cref="ModelZoo"/> model
/// must have the same state-dict keys in the same order and the same parameter count, load the file with
/// <c>strict: true</c> (no renaming) and give the same logits on the same batch.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ZooTests(ITestOutputHelper output)
{
    private const int Classes = 10;

    /// <summary>
    /// <see cref="ResNetZooTests.ZooTolerance"/>: abs 1e-4 + 1e-5 * max |torch logit| on every logit. Up to 16 layers of
    /// float32 convolutions and linear layers with reductions of up to 25088 terms: the rounding is set by the largest
    /// activations, not by each logit. Any wrong name, stride, padding, pooling mode or missing layer moves the
    /// logits by O(max |logit|), far above this bound.
    /// </summary>
    private static Tolerance ZooTolerance(OracleTensor expected) => ResNetZooTests.ZooTolerance(expected);

    /// <summary>The fastest ISA this machine runs (Avx512 where the CPU has it).</summary>
    private static CnnIsa Fastest => Isas.Tested[^1];

    /// <summary>
    /// (zoo name, ISA, input size). Every model on the fastest ISA at batch 2 with the smallest input its
    /// architecture allows comfortably (AlexNet needs 63x63; the adaptive pools then replicate); All-CNN-C, the
    /// cheapest, on the reference path too. The VGG classifier (Linear(25088, 4096), 103M parameters, the same code in
    /// every variant) makes a whole VGG cost ~10 s of initialisation and I/O on each side, so only VGG-16-BN runs whole;
    /// the other three variants compare their trunk (<c>features</c>, torchvision's own <c>make_layers</c>) alone.
    /// </summary>
    public static TheoryData<string, CnnIsa, int> Rows()
    {
        var data = new TheoryData<string, CnnIsa, int>
        {
            { "alexnet", Fastest, 64 },
            { "vgg16_bn", Fastest, 32 },
            { "vgg11" + TrunkSuffix, Fastest, 32 },
            { "vgg11_bn" + TrunkSuffix, Fastest, 32 },
            { "vgg16" + TrunkSuffix, Fastest, 32 },
            { "mobilenet_v2", Fastest, 64 },
            { "googlenet", Fastest, 64 },
            { "allconvnet", Fastest, 32 },
            { "allconvnet", CnnIsa.Reference, 32 },
        };
        return data;
    }

    /// <summary>Marks a VGG row that compares the trunk only.</summary>
    private const string TrunkSuffix = ".features";

    [Theory]
    [MemberData(nameof(Rows))]
    public void Zoo_model_from_torch_safetensors_matches_torch(string arch, CnnIsa isa, int size)
    {
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-input-" + size), 2, 3, size, size);
        if (arch.EndsWith(TrunkSuffix, StringComparison.Ordinal))
        {
            string vgg = arch[..^TrunkSuffix.Length];
            char cfg = vgg.StartsWith("vgg11", StringComparison.Ordinal) ? 'A' : 'D';
            bool batchNorm = vgg.EndsWith("_bn", StringComparison.Ordinal);
            using Sequential trunk = Vgg.MakeLayers(cfg, batchNorm);
            CompareWithTorch(output, trunk, () => TorchReferenceModels.VggFeatures(cfg, batchNorm), arch, isa, $"batch2-{size}x{size}", x);
            return;
        }

        var watch = Stopwatch.StartNew();
        using Module model = ModelZoo.Create(arch, Classes);
        output.WriteLine($"{arch}: built in {watch.Elapsed.TotalMilliseconds:0} ms");
        // AlexNet's and VGG's classifiers (55M / 120M parameters) would cost torch a 0.5-1 GB float64 copy for a forward
        // of a few hundred MFLOPs: those two run torch's float32 kernels (normwise difference ~6e-6, far inside the bound).
        var dtype = arch is "alexnet" or "vgg16_bn" ? torch.ScalarType.Float32 : torch.ScalarType.Float64;
        Func<TModule> torchModel = arch == "allconvnet"
            ? () => TorchReferenceModels.AllConvNet(3, Classes)
            : () => TorchReferenceModels.Create(arch, Classes);
        CompareWithTorch(output, model, torchModel, arch, isa, $"batch2-{size}x{size}", x, dtype);
    }

    /// <summary>One Inception module alone, at an odd size (the ceil-mode 3x3/1 pool of branch4 and the concat).</summary>
    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Inception_module_matches_torchvisions(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(Seeds.Of("inception-input"), 2, 16, 9, 7);
        using var block = new Inception(16, 8, 6, 12, 4, 6, 5);
        Assert.Equal(31, block.OutChannels);
        CompareWithTorch(output, block, () => TorchReferenceModels.Inception(16, 8, 6, 12, 4, 6, 5), "inception", isa, "2x16x9x7", x);
    }

    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    /// <summary>
    /// Builds the torch model (<paramref name="createTorch"/> after torch.manual_seed of the arch's seed, random BatchNorm
    /// state, eval mode), writes its state dict as safetensors and runs it on <paramref name="x"/> in
    /// <paramref name="dtype"/>; then checks that <paramref name="model"/> has torch's state-dict keys (same order and
    /// number) and parameter count, loads the file with <c>strict: true</c> and gives torch's output in eval mode within
    /// <see cref="ZooTolerance"/>; reports max abs and normwise errors and timings.
    /// </summary>
    internal static void CompareWithTorch(ITestOutputHelper output, Module model, Func<TModule> createTorch, string arch, CnnIsa isa,
        string caseName, Tensor x, torch.ScalarType dtype = torch.ScalarType.Float64)
    {
        var total = Stopwatch.StartNew();
        int seed = Seeds.Of(arch) % 1000;
        string path = TestPaths.NewScratchFile(arch, ".safetensors");
        List<string> torchKeys;
        long torchParams;
        OracleTensor expected;
        using (TModule torchModel = TorchModelOracle.Build(seed, createTorch, TorchModelOracle.BatchNormSpread.Zoo))
        {
            torchKeys = TorchModelOracle.Save(torchModel, path);
            torchParams = TorchModelOracle.ParameterCount(torchModel);
            expected = TorchModelOracle.Forward(torchModel, x, dtype);
        }

        // The state-dict keys in torch's order and number, and the parameter count.
        var keys = model.StateDict().Select(e => e.Key).ToList();
        Assert.Equal(torchKeys.Count, keys.Count);
        Assert.Equal(torchKeys, keys);
        Assert.Equal(torchParams, model.ParameterCount());

        model.Eval();
        model.LoadSafetensors(path, strict: true);
        File.Delete(path);

        var watch = Stopwatch.StartNew();
        using Tensor y = model.Forward(x);
        watch.Stop();

        double maxExpected = expected.Data.Max(v => Math.Abs(v));
        double maxAbs = y.ToArray().Zip(expected.Data, (a, e) => Math.Abs((double)a - e)).Max();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{arch} [{isa}] {caseName}: {keys.Count} state entries, {torchParams:N0} parameters, max |logit| {maxExpected:0.###e0}, " +
            $"max abs err {maxAbs:0.###e0}, normwise {maxAbs / maxExpected:0.###e0}; forward {watch.Elapsed.TotalMilliseconds:0} ms, total {total.Elapsed.TotalMilliseconds:0} ms"));
        OracleErrors.AssertClose(output, "zoo." + arch, isa, caseName, y, expected, ZooTolerance(expected));
    }

    [Fact]
    public void ModelZoo_names_shapes_and_errors()
    {
        Assert.Equal(
            ["lenet5", "cnn-bn", "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "googlenet", "allconvnet"],
            ModelZoo.Names);
        Assert.Equal([1, 1, 28, 28], ModelZoo.DefaultInputShape("lenet5"));
        Assert.Equal([1, 3, 224, 224], ModelZoo.DefaultInputShape("vgg16_bn"));
        Assert.Equal([1, 3, 32, 32], ModelZoo.DefaultInputShape("allconvnet"));
        ModelZoo.DefaultInputShape("resnet18")[0] = 99; // a copy: the zoo's own shape cannot be changed
        Assert.Equal([1, 3, 224, 224], ModelZoo.DefaultInputShape("resnet18"));

        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("vgg19"));
        Assert.Contains("vgg19", e.Message, StringComparison.Ordinal);
        Assert.Contains("mobilenet_v2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelZoo.DefaultInputShape("VGG16"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("lenet5", 0));

        // Cheap models: the class count reaches the head, and a forward at the default shape gives [1, classes].
        foreach (string name in new[] { "lenet5", "cnn-bn", "allconvnet" })
        {
            using Module model = ModelZoo.Create(name, 7);
            model.Eval();
            using Tensor x = TestData.NormalTensor(Seeds.Of(name + "-zoo"), ModelZoo.DefaultInputShape(name));
            using Tensor y = model.Forward(x);
            Assert.Equal([1, 7], y.Shape);
        }
    }

    /// <summary>
    /// The new models train: one training-mode forward (batch statistics, dropout) and cross-entropy backward gives every
    /// parameter a finite gradient of its shape, through ReLU6, depthwise convolutions, the inverted residual add,
    /// Inception's concat and the global pooling (the gradients themselves are checked against torch op by op and,
    /// whole-model, for ResNet-18 and LeNet-5 in ModelGradTests).
    /// </summary>
    [Theory]
    [InlineData("mobilenet_v2")]
    [InlineData("googlenet")]
    [InlineData("allconvnet")]
    public void Zoo_model_backward_reaches_every_parameter(string name)
    {
        Cnn.ManualSeed(Seeds.Of(name));
        using Module model = ModelZoo.Create(name, Classes);
        model.Train();
        using Tensor x = TestData.NormalTensor(Seeds.Of(name + "-train"), 2, 3, 32, 32);
        using Tensor logits = model.Forward(x);
        Assert.Equal([2, Classes], logits.Shape);
        using Tensor loss = Functional.CrossEntropy(logits, [1, 7]);
        loss.Backward();
        int count = 0;
        foreach (var (key, p) in model.NamedParameters())
        {
            Tensor? grad = p.Grad;
            Assert.True(grad != null, $"{name}: {key} got no gradient");
            Assert.Equal(p.Shape, grad!.Shape);
            Assert.True(grad.ToArray().All(float.IsFinite), $"{name}: {key} has a non-finite gradient");
            count++;
        }

        var (lastKey, last) = model.NamedParameters().Last();
        Assert.True(last.Grad!.ToArray().Any(v => v != 0), $"{name}: the head's gradient {lastKey} is all zero");
        output.WriteLine($"{name}: {count} parameter gradients, loss {loss.Item():0.####}");
    }

    [Fact]
    public void Torchvision_parameter_counts_at_1000_classes()
    {
        // torchvision's documented num_params (the weights' meta) for the ImageNet heads (the 10-class rows
        // above compare every model's count with torch's; these two are cheap to build at 1000 classes).
        (string Name, long Params)[] expected =
        [
            ("mobilenet_v2", 3_504_872),
            ("googlenet", 6_624_904),
        ];
        foreach (var (name, count) in expected)
        {
            using Module model = ModelZoo.Create(name);
            Assert.Equal(count, model.ParameterCount());
        }

        using var mobile = new MobileNetV2(widthMult: 0.35f);
        Assert.Equal(1280, mobile.LastChannel); // _make_divisible(1280 * max(1, 0.35), 8)
        Assert.Equal(16, ((Conv2d)((Sequential)mobile.Features[0])[0]).OutChannels); // _make_divisible(32 * 0.35) = 16
    }
}
