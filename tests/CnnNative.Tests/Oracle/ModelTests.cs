using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;
using TorchSharp;
using Spread = CnnNative.Tests.Infrastructure.TorchModelOracle.BatchNormSpread;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// Whole models: built in libtorch (TorchSharp; seeded, BatchNorm with non-trivial running statistics and affine
/// parameters), saved as safetensors by the test's own writer (num_batches_tracked as I64, like torch), loaded
/// into CnnNative, run on the same input (torch in float64); and a CnnNative-built Sequential + Residual network run
/// by torch from its state dict (strict load: the keys must be torch's) and from the safetensors file CnnNative
/// writes (read by the test's own reader, dtypes, shapes and offsets checked).
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ModelTests(ITestOutputHelper output)
{
    /// <summary>Several layers of float32 accumulation (conv, BN, linear) on O(1) values.</summary>
    public static readonly Tolerance ModelTolerance = new(1e-4, 1e-4);

    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void LeNet5_from_torch_safetensors_matches_torch(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        string path = TestPaths.NewScratchFile("lenet5", ".safetensors");
        using var torchModel = TorchModelOracle.Build(5, TorchReferenceModels.LeNet5, Spread.Blocks);
        TorchModelOracle.Save(torchModel, path);
        var torchState = TorchState(torchModel);

        using var model = new LeNet5();
        model.Eval();
        model.LoadSafetensors(path);
        AssertStateEquals(model, torchState);

        using Tensor x = TestData.NormalTensor(Seeds.Of("lenet5-input"), 4, 1, 28, 28);
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "model.lenet5", isa, "batch4", y, TorchModelOracle.Forward(torchModel, x), ModelTolerance);

        // Batch 1 as well (a different blocking in the kernels).
        using Tensor x1 = TestData.NormalTensor(Seeds.Of("lenet5-input1"), 1, 1, 28, 28);
        using Tensor y1 = model.Forward(x1);
        OracleErrors.AssertClose(output, "model.lenet5", isa, "batch1", y1, TorchModelOracle.Forward(torchModel, x1), ModelTolerance);
    }

    public static TheoryData<string, CnnIsa> BlockRows => Isas.Cross(["identity-8-8-s1", "projection-4-8-s2", "projection-16-32-s2", "projection-8-16-s1"]);

    [Theory]
    [MemberData(nameof(BlockRows))]
    public void BasicBlock_from_torch_safetensors_matches_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split('-');
        int inPlanes = int.Parse(p[1]), planes = int.Parse(p[2]), stride = int.Parse(p[3][1..]);
        int seed = Seeds.Of(name) % 1000;
        using IDisposable _ = Isas.Use(isa);

        string path = TestPaths.NewScratchFile("basic-block", ".safetensors");
        using var torchBlock = TorchModelOracle.Build(seed, () => TorchReferenceModels.BasicBlock(inPlanes, planes, stride), Spread.Blocks);
        Assert.Contains("bn1.num_batches_tracked", TorchModelOracle.Save(torchBlock, path));
        var torchState = TorchState(torchBlock);

        using var block = new BasicBlock(inPlanes, planes, stride);
        Assert.Equal(p[0] == "projection", block.Downsample != null);
        block.Eval();
        block.LoadSafetensors(path);
        AssertStateEquals(block, torchState);

        using Tensor x = TestData.NormalTensor(Seeds.Of(name + "-input"), 2, inPlanes, 11, 9);
        using Tensor y = block.Forward(x);
        OracleErrors.AssertClose(output, "model.basic_block", isa, name, y, TorchModelOracle.Forward(torchBlock, x), ModelTolerance);
    }

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Sequential_with_Residual_matches_torch_from_state_dict_and_from_safetensors(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        const int c = 8, classes = 10;
        Cnn.ManualSeed(1234);
        using var net = new Sequential(
            new Conv2d(3, c, 3, padding: 1),
            new BatchNorm2d(c),
            new ReLU(),
            new MaxPool2d(3, stride: 2, padding: 1),
            new Residual(new Sequential(
                new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c), new ReLU(),
                new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c))),
            new Residual(
                new Sequential(
                    new Conv2d(c, 2 * c, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(2 * c), new ReLU(),
                    new Conv2d(2 * c, 2 * c, 3, padding: 1, bias: false), new BatchNorm2d(2 * c)),
                new Sequential(new Conv2d(c, 2 * c, 1, stride: 2, bias: false), new BatchNorm2d(2 * c))),
            new AdaptiveAvgPool2d(1),
            new Flatten(),
            new Dropout(0.5),
            new Linear(2 * c, classes),
            new LogSoftmax(1));

        // Non-trivial BatchNorm state (the defaults 0/1 would hide mistakes).
        int k = 0;
        foreach (var (key, value) in net.StateDict())
        {
            int n = (int)value.Length;
            float[]? data = key switch
            {
                _ when key.EndsWith("running_mean", StringComparison.Ordinal) => TestData.Normal(100 + k, n, 0.5),
                _ when key.EndsWith("running_var", StringComparison.Ordinal) => TestData.Uniform(200 + k, n, 0.25, 1.75),
                _ when key.EndsWith("num_batches_tracked", StringComparison.Ordinal) => [42f + k],
                _ when value.Rank == 1 && IsBatchNormKey(net, key) && key.EndsWith("weight", StringComparison.Ordinal) => TestData.Uniform(300 + k, n, 0.5, 1.5),
                _ when value.Rank == 1 && IsBatchNormKey(net, key) && key.EndsWith("bias", StringComparison.Ordinal) => TestData.Normal(400 + k, n, 0.25),
                _ => null,
            };
            if (data != null)
            {
                value.CopyFrom(data);
            }

            k++;
        }

        net.Eval();
        using Tensor x = TestData.NormalTensor(Seeds.Of("composite-input"), 3, 3, 25, 19);
        using Tensor y = net.Forward(x);

        // 1. torch loads the C# state dict (strict: same keys, shapes, dtypes) and runs its own modules.
        using (var scope = torch.NewDisposeScope())
        {
            using var fromState = TorchModelOracle.Build(0, () => TorchReferenceModels.Composite(3, c, classes), spread: null);
            var entries = net.StateDict().Select(e => (e.Key, e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? torch.tensor((long)Math.Round(e.Value.ToArray()[0]))
                : torch.tensor(e.Value.ToArray(), Array.ConvertAll(e.Value.Shape, d => (long)d)))).ToList();
            TorchModelOracle.LoadStrict(fromState, entries);
            OracleErrors.AssertClose(output, "model.sequential_residual", isa, "state_dict", y, TorchModelOracle.Forward(fromState, x), ModelTolerance);
        }

        // 2. torch reads the C# safetensors file with the test's own reader (dtypes, shapes, offsets checked).
        string path = TestPaths.NewScratchFile("composite", ".safetensors");
        net.SaveSafetensors(path);
        using (var scope = torch.NewDisposeScope())
        {
            using var fromFile = TorchModelOracle.Build(0, () => TorchReferenceModels.Composite(3, c, classes), spread: null);
            var (entries, _) = TorchSafetensors.Read(path);
            TorchModelOracle.LoadStrict(fromFile, entries);
            OracleErrors.AssertClose(output, "model.sequential_residual", isa, "safetensors", y, TorchModelOracle.Forward(fromFile, x), ModelTolerance);
        }

        // 3. And the file round-trips into a fresh CnnNative network bit for bit.
        Cnn.ManualSeed(99);
        using var twin = new Sequential(
            new Conv2d(3, c, 3, padding: 1), new BatchNorm2d(c), new ReLU(), new MaxPool2d(3, stride: 2, padding: 1),
            new Residual(new Sequential(
                new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c), new ReLU(),
                new Conv2d(c, c, 3, padding: 1, bias: false), new BatchNorm2d(c))),
            new Residual(
                new Sequential(
                    new Conv2d(c, 2 * c, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(2 * c), new ReLU(),
                    new Conv2d(2 * c, 2 * c, 3, padding: 1, bias: false), new BatchNorm2d(2 * c)),
                new Sequential(new Conv2d(c, 2 * c, 1, stride: 2, bias: false), new BatchNorm2d(2 * c))),
            new AdaptiveAvgPool2d(1), new Flatten(), new Dropout(0.5), new Linear(2 * c, classes), new LogSoftmax(1));
        twin.LoadSafetensors(path);
        twin.Eval();
        using Tensor y2 = twin.Forward(x);
        Assert.Equal(y.ToArray(), y2.ToArray());
    }

    private static bool IsBatchNormKey(Module root, string key)
    {
        string owner = key[..key.LastIndexOf('.')];
        return root.NamedModules().Any(m => m.Name == owner && m.Module is BatchNorm2d);
    }

    /// <summary>torch's state dict as float32 values (num_batches_tracked converted), by key in torch's order.</summary>
    private static List<(string Key, float[] Values)> TorchState(torch.nn.Module model) =>
        TorchModelOracle.StateDict(model).Select(e => (e.Key, Torch.ToFloats(e.Value))).ToList();

    /// <summary>Every CnnNative state entry equals torch's (bit for bit; num_batches_tracked by value), keys in torch's order.</summary>
    private void AssertStateEquals(Module model, List<(string Key, float[] Values)> torchState)
    {
        var keys = model.StateDict().Select(e => e.Key).ToList();
        Assert.Equal(torchState.Select(e => e.Key).ToList(), keys);
        foreach (var ((key, value), (_, expected)) in model.StateDict().Zip(torchState))
        {
            Assert.Equal(expected.Length, (int)value.Length);
            Assert.True(expected.AsSpan().SequenceEqual(value.ToArray()), $"state entry {key} differs from torch's");
        }

        output.WriteLine($"{keys.Count} state entries equal torch's");
    }
}
