using System.Collections.Concurrent;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Oracle;

namespace CnnNative.Tests.Training;

/// <summary>
/// Gradients of Functional.Conv2d (input, weight, bias; through the fused activation) against torch
/// autograd on F.pad + F.conv2d, over the forward test's whole sweep (ConvTests.Cases: stride,
/// asymmetric padding, dilation, groups, depthwise, bias, activations, batch 1 and &gt; 1, odd sizes,
/// channel counts not a multiple of 8), on every tested ISA.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ConvGradTests(ITestOutputHelper output)
{
    /// <summary>
    /// Input gradient: sums of up to OC*KH*KW (~2000) products per element. Per unit of the gradient's
    /// scale (see GradCheck.Scaled).
    /// </summary>
    public static readonly Tolerance InputGradTolerance = new(1e-5, 1e-4);

    /// <summary>Weight / bias gradients: sums over N*OH*OW (up to ~1600) products, larger cancellation.</summary>
    public static readonly Tolerance WeightGradTolerance = new(1e-5, 1e-4);

    private static readonly ConcurrentDictionary<string, TorchResult> s_expected = new();

    private static readonly Dictionary<string, ConvTests.ConvCase> s_byName =
        ConvTests.Cases.DistinctBy(c => c.Name).ToDictionary(c => c.Name);

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(s_byName.Keys);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Conv2d_gradients_match_torch(string name, CnnIsa isa)
    {
        ConvTests.ConvCase c = s_byName[name];
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of(name);
        float bound = 1f / MathF.Sqrt(c.C / c.G * c.KH * c.KW);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, c.N, c.C, c.H, c.W));
        using Tensor w = GradCheck.Leaf(TestData.UniformTensor(seed + 1, -bound, bound, c.O, c.C / c.G, c.KH, c.KW));
        using Tensor? b = c.Bias ? GradCheck.Leaf(TestData.UniformTensor(seed + 2, -bound, bound, c.O)) : null;
        Conv2dOptions options = c.Options;

        using Tensor y = Functional.Conv2d(x, w, b, options, c.Act);
        Assert.NotNull(y.GradFn);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);

        TorchResult expected = s_expected.GetOrAdd(name, _ => TorchReference.Gradients(
            go, t => c.Reference(t["input"], t["weight"], t.Optional("bias")), ("input", x), ("weight", w), ("bias", b)));

        y.Backward(go);
        TorchReference.AssertGrad(output, "conv2d", "input", isa, name, x, expected, InputGradTolerance);
        TorchReference.AssertGrad(output, "conv2d", "weight", isa, name, w, expected, WeightGradTolerance);
        if (b != null)
        {
            TorchReference.AssertGrad(output, "conv2d", "bias", isa, name, b, expected, WeightGradTolerance);
        }

        // Gradients accumulate across Backward calls (same graph rebuilt: exactly twice the first).
        if (Seeds.Of(name) % 5 == 0)
        {
            float[] gx = x.Grad!.ToArray(), gw = w.Grad!.ToArray();
            using (Tensor y2 = Functional.Conv2d(x, w, b, options, c.Act))
            {
                y2.Backward(go);
            }

            // Not bit-exact: a kernel may add its partial sums into the existing gradient (another
            // summation order), so within float32 rounding of the accumulated value.
            AssertTwice(gx, x.Grad!.ToArray(), "input");
            AssertTwice(gw, w.Grad!.ToArray(), "weight");
            x.ZeroGrad();
            Assert.True(x.Grad == null || x.Grad.ToArray().All(v => v == 0), "ZeroGrad left a non-zero gradient");
        }
    }

    private static void AssertTwice(float[] once, float[] accumulated, string what)
    {
        double scale = Math.Max(1e-30, once.Max(v => Math.Abs((double)v)) * 2);
        for (int i = 0; i < once.Length; i++)
        {
            double err = Math.Abs(accumulated[i] - (2.0 * once[i]));
            Assert.True(err <= 1e-6 * scale, $"accumulated {what} gradient #{i}: {accumulated[i]:R}, expected 2 x {once[i]:R} (scale {scale:R})");
        }
    }

    public static TheoryData<string, CnnIsa> SingleThreadRows => Isas.Cross(
        ConvTests.Cases.Where(c => c.C >= 32 || c.KH >= 7 || c.G > 1).Take(6).Select(c => c.Name));

    /// <summary>The same with a thread budget of 1 (the default splits the work across threads).</summary>
    [Theory]
    [MemberData(nameof(SingleThreadRows))]
    public void Conv2d_gradients_single_thread_match_torch(string name, CnnIsa isa)
    {
        int threads = Cnn.NumThreads;
        Cnn.NumThreads = 1;
        try
        {
            Conv2d_gradients_match_torch(name, isa);
        }
        finally
        {
            Cnn.NumThreads = threads;
        }
    }
}
