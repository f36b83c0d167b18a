using System.Globalization;
using CnnNative.Inference;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Inference;

/// <summary>The models the session tests compile, with non-trivial batch norm state, and how they are compared.</summary>
internal static class SessionTestModels
{
    public static readonly string[] Names = ["lenet5", "cnnbn", "resnet18", "resnet50"];

    /// <summary>A seeded model in eval mode and its input shape (batch 2 at 28x28 for the small nets, 1x3x64x64 for the ResNets).</summary>
    public static (Module Model, int[] InputShape) Build(string name)
    {
        Cnn.ManualSeed(Seeds.Of(name));
        (Module model, int[] shape) = name switch
        {
            "lenet5" => ((Module)new LeNet5(10), new[] { 2, 1, 28, 28 }),
            "cnnbn" => (new CnnBn(10), new[] { 2, 1, 28, 28 }),
            "resnet18" => (ResNet.ResNet18(10), new[] { 1, 3, 64, 64 }),
            "resnet50" => (ResNet.ResNet50(10), new[] { 1, 3, 64, 64 }),
            _ => throw new ArgumentException(name, nameof(name)),
        };
        RandomizeBatchNorm(model, Seeds.Of(name + "-bn"));
        model.Eval();
        return (model, shape);
    }

    /// <summary>
    /// Running statistics and affine parameters away from their identity defaults (as the oracle does for
    /// torchvision): mean ~ N(0, 0.1), var ~ U(0.5, 1.5), gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), so folding them
    /// into the convolutions changes the weights for real.
    /// </summary>
    public static void RandomizeBatchNorm(Module model, int seed)
    {
        foreach ((_, Module module) in model.NamedModules())
        {
            if (module is not BatchNorm2d bn)
            {
                continue;
            }

            int c = bn.NumFeatures;
            bn.RunningMean!.CopyFrom(TestData.Normal(seed++, c, 0.1));
            bn.RunningVar!.CopyFrom(TestData.Uniform(seed++, c, 0.5, 1.5));
            bn.Weight!.CopyFrom(TestData.Uniform(seed++, c, 0.5, 1.5));
            bn.Bias!.CopyFrom(TestData.Normal(seed++, c, 0.1));
        }
    }

    /// <summary>The model's own forward pass (eval, no grad).</summary>
    public static float[] Forward(Module model, Tensor input)
    {
        using IDisposable _ = Autograd.NoGrad();
        using Tensor y = model.Forward(input);
        return y.ToArray();
    }

    /// <summary>
    /// Asserts |session - forward| &lt;= 1e-4 + 1e-4 * max |forward| on every element (normwise: folding batch norm
    /// reorders float32 roundings, whose size is set by the largest activations), and reports the errors.
    /// </summary>
    public static void AssertClose(ITestOutputHelper output, string what, float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        double tolerance = 1e-4 + (1e-4 * scale);
        double maxAbs = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double abs = Math.Abs((double)actual[i] - expected[i]);
            if (!(abs <= maxAbs))
            {
                maxAbs = abs;
                worst = i;
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {expected.Length} values, max |y| {scale:0.###e0}, max abs err {maxAbs:0.###e0}, normwise {maxAbs / Math.Max(scale, 1e-30):0.###e0} (tolerance {tolerance:0.###e0})"));
        Assert.True(maxAbs <= tolerance,
            $"{what}: element {worst}: session {actual[worst]:R}, forward {expected[worst]:R}, |diff| {maxAbs:0.###e0} > {tolerance:0.###e0}");
    }

    /// <summary>One run of a session on a tensor, as an array.</summary>
    public static float[] Run(InferenceSession session, Tensor input)
    {
        var y = new float[session.OutputShape.Aggregate(1, (a, d) => a * d)];
        session.Run(input.AsSpan(), y);
        return y;
    }
}
