using CnnNative.Interop;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>
/// Dropout cannot match torch's RNG, so its semantics are tested instead: mask values in
/// {0, 1/(1-p)}, keep rate ~ 1-p, the mask a function of (seed, index) only (same for any thread
/// count and ISA), backward = upstream gradient * mask, eval = identity.
/// </summary>
public sealed class DropoutTests(ITestOutputHelper output)
{
    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    private static float[] NonZero(int seed, int count)
    {
        float[] v = TestData.Normal(seed, count);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = v[i] >= 0 ? v[i] + 0.1f : v[i] - 0.1f;
        }

        return v;
    }

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Mask_values_keep_rate_and_backward_follow_inverted_dropout(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        foreach (float p in new[] { 0.1f, 0.5f, 0.8f })
        {
            const int count = 100_003; // not a multiple of any vector width
            float[] data = NonZero(1, count);
            using Tensor x = Tensor.FromArray(data, count);
            x.RequiresGrad = true;
            using Tensor y = Functional.Dropout(x, p, training: true, seed: 1234);
            float[] yv = y.ToArray();
            float scale = 1f / (1f - p);
            int kept = 0;
            var mask = new float[count];
            for (int i = 0; i < count; i++)
            {
                float m = yv[i] / data[i];
                if (yv[i] == 0)
                {
                    mask[i] = 0;
                }
                else
                {
                    Assert.True(MathF.Abs(m - scale) <= 1e-6f * scale, $"p={p}: element {i}: output/input = {m}, expected 0 or {scale}");
                    Assert.Equal(data[i] * scale, yv[i]);
                    mask[i] = scale;
                    kept++;
                }
            }

            // Binomial(count, 1-p): within 5 standard deviations.
            double expectedKept = count * (1 - p), sigma = Math.Sqrt(count * p * (1 - p));
            output.WriteLine($"{isa} p={p}: kept {kept} of {count} (expected {expectedKept:0} +- {sigma:0})");
            Assert.InRange(kept, expectedKept - (5 * sigma), expectedKept + (5 * sigma));

            using Tensor go = TestData.NormalTensor(2, count);
            y.Backward(go);
            float[] g = go.ToArray(), gx = x.Grad!.ToArray();
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(g[i] * mask[i], gx[i]);
            }
        }
    }

    [Fact]
    public void Mask_depends_only_on_seed_not_on_threads_or_isa()
    {
        const int count = 50_001;
        using Tensor x = Tensor.FromArray(NonZero(3, count), count);
        float[]? reference = null;
        foreach (CnnIsa isa in Isas.Tested)
        {
            using IDisposable _ = Isas.Use(isa);
            foreach (int threads in new[] { 1, Math.Max(2, Cnn.HardwareThreads) })
            {
                int saved = Cnn.NumThreads;
                Cnn.NumThreads = threads;
                try
                {
                    using Tensor y = Functional.Dropout(x, 0.3f, training: true, seed: 42);
                    float[] v = y.ToArray();
                    if (reference == null)
                    {
                        reference = v;
                    }
                    else
                    {
                        Assert.True(reference.AsSpan().SequenceEqual(v), $"the mask differs for {isa} with {threads} threads");
                    }
                }
                finally
                {
                    Cnn.NumThreads = saved;
                }
            }
        }

        using Tensor same = Functional.Dropout(x, 0.3f, training: true, seed: 42);
        Assert.Equal(reference, same.ToArray());
        using Tensor other = Functional.Dropout(x, 0.3f, training: true, seed: 43);
        Assert.NotEqual(reference, other.ToArray());
    }

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Eval_mode_and_p0_are_the_identity_with_identity_gradient(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        float[] data = NonZero(4, 1000);
        using Tensor x = Tensor.FromArray(data, 10, 100);
        x.RequiresGrad = true;
        using (Tensor y = Functional.Dropout(x, 0.5f, training: false, seed: 7))
        {
            Assert.Equal(data, y.ToArray());
            using Tensor go = TestData.NormalTensor(5, 10, 100);
            y.Backward(go);
            Assert.Equal(go.ToArray(), x.Grad!.ToArray());
        }

        using (Tensor y0 = Functional.Dropout(x, 0f, training: true, seed: 7))
        {
            Assert.Equal(data, y0.ToArray());
        }

        // The module: Train() drops (some zeros at p = 0.5), Eval() is the identity.
        using var dropout = new Dropout(0.5);
        dropout.Train();
        using (Tensor yt = dropout.Forward(x))
        {
            Assert.Contains(0f, yt.ToArray());
        }

        dropout.Eval();
        using (Tensor ye = dropout.Forward(x))
        {
            Assert.Equal(data, ye.ToArray());
        }
    }
}
