using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// Hardswish, Hardsigmoid, SiLU, GELU against libtorch 2.10 in float64 on every tested ISA: forward, the gradient
/// through <see cref="Tensor.Backward(Tensor)"/>, and the fused conv / linear epilogues; plus the guards that refuse
/// training them fused or in place.
/// </summary>
public sealed class NewOpsActivationTests(ITestOutputHelper output)
{
    // Float32 kernels vs the float64 oracle: a few ulp of the result, plus 1.5e-7 absolute from the AVX2 erf
    // (Abramowitz & Stegun 7.1.26), scaled by max(1, |expected|).
    private const double ForwardTolerance = 2e-6;
    private const double GradTolerance = 4e-6;
    // The fused epilogue after a float32 convolution / linear vs float64 torch: the sum's rounding dominates.
    private const double FusedTolerance = 2e-5;

    private static readonly (Activation Ours, Func<TT, TT> Torch)[] Cases =
    [
        (Activation.Hardswish, x => torch.nn.functional.hardswish(x)),
        (Activation.Hardsigmoid, x => torch.nn.functional.hardsigmoid(x)),
        (Activation.Silu, x => torch.nn.functional.silu(x)),
        (Activation.Gelu, x => torch.nn.functional.gelu(x)),
    ];

    public static TheoryData<string, CnnIsa> Isa_cases() => Isas.Cross(Cases.Select(c => c.Ours.ToString()));

    [Theory]
    [MemberData(nameof(Isa_cases))]
    public void Forward_and_gradient_match_torch(string activation, CnnIsa isa)
    {
        Torch.Ensure();
        using IDisposable _ = Isas.Use(isa);
        var (ours, reference) = Cases.Single(c => c.Ours.ToString() == activation);
        foreach (int[] shape in new[] { new[] { 1 }, new[] { 7 }, new[] { 2, 3, 5, 7 }, new[] { 1, 19, 13, 11 }, new[] { 3, 1037 } })
        {
            float[] x = Values(shape.Aggregate(1, (a, b) => a * b), seed: shape.Sum());
            float[] g = Values(x.Length, seed: 7 + shape.Length);
            using Tensor input = Tensor.FromArray(x, shape);
            input.RequiresGrad = true;
            using Tensor y = Functional.Activate(input, ours);
            using Tensor gradOut = Tensor.FromArray(g, shape);
            y.Backward(gradOut);

            using TT tx = Torch.From(x, shape, requiresGrad: true);
            using TT ty = reference(tx);
            using TT tg = Torch.From(g, shape);
            ty.backward([tg]);

            double fwd = MaxScaledError(y.ToArray(), Torch.ToFloats(ty));
            double grad = MaxScaledError(input.Grad!.ToArray(), Torch.ToFloats(tx.grad!));
            output.WriteLine($"{activation} {isa} [{string.Join(",", shape)}]: forward {fwd:E2}, grad {grad:E2}");
            Assert.True(fwd <= ForwardTolerance, $"forward error {fwd} > {ForwardTolerance}");
            Assert.True(grad <= GradTolerance, $"gradient error {grad} > {GradTolerance}");
        }
    }

    [Theory]
    [MemberData(nameof(Isa_cases))]
    public void Fused_conv_and_linear_epilogues_match_torch(string activation, CnnIsa isa)
    {
        Torch.Ensure();
        using IDisposable _ = Isas.Use(isa);
        var (ours, reference) = Cases.Single(c => c.Ours.ToString() == activation);
        using var noGrad = Autograd.NoGrad();
        // 3x3 padded (winograd / direct / gemm), depthwise (MobileNetV3's blocks), 1x1 with 17 -> 33 channels.
        var convs = new (int[] In, int Out, int K, int Groups)[]
        {
            ([2, 5, 13, 11], 19, 3, 1), ([1, 24, 9, 10], 24, 3, 24), ([1, 17, 7, 5], 33, 1, 1),
        };
        foreach (var (inShape, outChannels, k, groups) in convs)
        {
            float[] x = Values(inShape.Aggregate(1, (a, b) => a * b), seed: 3, scale: 2f);
            int[] wShape = [outChannels, inShape[1] / groups, k, k];
            float[] w = Values(wShape.Aggregate(1, (a, b) => a * b), seed: 5, scale: 0.5f);
            float[] b = Values(outChannels, seed: 9);
            using Tensor input = Tensor.FromArray(x, inShape);
            using Tensor weight = Tensor.FromArray(w, wShape);
            using Tensor bias = Tensor.FromArray(b, outChannels);
            var options = new Conv2dOptions { Padding = Padding2d.Symmetric(k / 2), Groups = groups };
            using Tensor y = Functional.Conv2d(input, weight, bias, options, ours);
            using TT ty = reference(torch.nn.functional.conv2d(Torch.From(x, inShape), Torch.From(w, wShape), Torch.From(b, [outChannels]),
                padding: [k / 2, k / 2], groups: groups));
            double err = MaxScaledError(y.ToArray(), Torch.ToFloats(ty));
            output.WriteLine($"{activation} {isa} conv [{string.Join(",", inShape)}] -> {outChannels} k{k} g{groups}: {err:E2}");
            Assert.True(err <= FusedTolerance, $"fused conv error {err} > {FusedTolerance}");
        }

        float[] li = Values(3 * 37, seed: 11), lw = Values(29 * 37, seed: 12, scale: 0.3f);
        using Tensor lin = Tensor.FromArray(li, 3, 37);
        using Tensor lwt = Tensor.FromArray(lw, 29, 37);
        using Tensor ly = Functional.Linear(lin, lwt, null, ours);
        using TT tly = reference(torch.nn.functional.linear(Torch.From(li, [3, 37]), Torch.From(lw, [29, 37])));
        double lerr = MaxScaledError(ly.ToArray(), Torch.ToFloats(tly));
        output.WriteLine($"{activation} {isa} linear 37 -> 29: {lerr:E2}");
        Assert.True(lerr <= FusedTolerance, $"fused linear error {lerr} > {FusedTolerance}");
    }

    [Fact]
    public void Training_fused_or_in_place_is_refused_before_computing()
    {
        using Tensor x = Tensor.FromArray([1f, -2f, 3f, 0.5f], 1, 4);
        x.RequiresGrad = true;
        using Tensor w = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4);
        var fused = Assert.Throws<NotSupportedException>(() => Functional.Linear(x, w, null, Activation.Silu));
        output.WriteLine(fused.Message);
        Assert.Contains("Silu", fused.Message);
        using Tensor h = Functional.Linear(x, w, null); // non-leaf, requires grad
        var inPlace = Assert.Throws<NotSupportedException>(() => Functional.Activate(h, Activation.Gelu, h));
        output.WriteLine(inPlace.Message);
        Assert.Contains("in place", inPlace.Message);
        // The same calls without recording are fine (inference fuses them).
        using (Autograd.NoGrad())
        {
            using Tensor y = Functional.Linear(x, w, null, Activation.Silu);
            Assert.Equal(1, y.Length);
        }
    }

    private static float[] Values(int count, int seed, float scale = 6f)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2 - 1) * scale); // covers the +-3 hard breakpoints
        }

        // Exact breakpoints and zeros where the length allows.
        float[] special = [0f, -0f, 3f, -3f, 1e-4f, -1e-4f, 10f, -10f];
        for (int i = 0; i < Math.Min(special.Length, count / 2); i++)
        {
            v[i * 2] = special[i] * (scale / 6f);
        }

        return v;
    }

    private static double MaxScaledError(float[] got, float[] expected)
    {
        Assert.Equal(expected.Length, got.Length);
        double worst = 0;
        for (int i = 0; i < got.Length; i++)
        {
            double e = Math.Abs((double)got[i] - expected[i]) / Math.Max(1.0, Math.Abs((double)expected[i]));
            worst = Math.Max(worst, double.IsNaN(e) ? double.PositiveInfinity : e);
        }

        return worst;
    }
}
