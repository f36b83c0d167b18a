using System.Globalization;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>
/// Finite-difference checks of the Reference (scalar) backward kernels, independent of torch:
/// the scalar L = sum(y * R) (R a fixed random tensor; or the loss itself for losses) is evaluated in
/// float32 by the library and accumulated in double; each input element x_i is perturbed by +-h and
/// dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h is compared with the gradient Backward computed.
/// </summary>
/// <remarks>
/// Step <see cref="Step"/> = 1e-2: the float32 rounding of L (|L| ~ 10, ~1e-6 absolute) divided by 2h is
/// ~5e-5, the truncation error h^2/6 * f''' is ~2e-5 for these O(1) functions. Tolerance
/// <see cref="FdTolerance"/>: |fd - analytic| &lt;= 5e-4 * max(1, max |analytic|) + 5e-3 * |analytic| (observed: 1.7e-4 abs at scale 3, 1.2e-3 rel).
/// Inputs of max pooling are distinct values at least 0.05 apart (> 2h, so no perturbation changes
/// the argmax) and ReLU inputs stay at least 0.05 away from 0, so the functions are smooth at the
/// points checked.
/// </remarks>
public sealed class FiniteDifferenceTests(ITestOutputHelper output)
{
    /// <summary>The central-difference step.</summary>
    public const float Step = 1e-2f;

    /// <summary>The tolerance (abs part per unit of max |analytic|).</summary>
    public static readonly Tolerance FdTolerance = new(5e-4, 5e-3);

    private static float[] Spaced(int seed, int count, float spacing)
    {
        // A shuffled arithmetic progression: distinct values, at least `spacing` apart.
        var rng = new Random(seed);
        float[] v = Enumerable.Range(0, count).Select(i => (i - (count / 2)) * spacing).ToArray();
        rng.Shuffle(v);
        return v;
    }

    private static float[] AwayFromZero(int seed, int count, float margin)
    {
        float[] v = TestData.Normal(seed, count);
        for (int i = 0; i < v.Length; i++)
        {
            if (MathF.Abs(v[i]) < margin)
            {
                v[i] = v[i] < 0 ? v[i] - margin : v[i] + margin;
            }
        }

        return v;
    }

    /// <summary>
    /// Runs the check: <paramref name="forward"/> builds the output from the leaves; if it is not a
    /// scalar, L = sum(y * R).
    /// </summary>
    private void Check(string name, Tensor[] leaves, Func<Tensor> forward)
    {
        using IDisposable _ = Isas.Use(CnnIsa.Reference);
        foreach (Tensor leaf in leaves)
        {
            leaf.RequiresGrad = true;
            leaf.Grad = null; // a leaf shared with an earlier check starts from no gradient
        }

        float[]? r = null;
        double Loss()
        {
            using IDisposable noGrad = Autograd.NoGrad();
            using Tensor y = forward();
            float[] v = y.ToArray();
            if (r == null)
            {
                return v.Length == 1 ? v[0] : throw new InvalidOperationException("R not set");
            }

            double s = 0;
            for (int i = 0; i < v.Length; i++)
            {
                s += (double)v[i] * r[i];
            }

            return s;
        }

        using (Tensor y = forward())
        {
            if (y.Length == 1)
            {
                y.Backward();
            }
            else
            {
                r = TestData.Normal(Seeds.Of(name + "-R"), y.Length);
                using Tensor rt = Tensor.FromArray(r, y.Shape);
                y.Backward(rt);
            }
        }

        for (int l = 0; l < leaves.Length; l++)
        {
            Tensor leaf = leaves[l];
            Assert.NotNull(leaf.Grad);
            float[] analytic = leaf.Grad!.ToArray();
            double scale = Math.Max(1, analytic.Max(v => Math.Abs((double)v)));
            double worst = 0, worstRel = 0;
            int bad = -1;
            for (int i = 0; i < analytic.Length; i++)
            {
                float saved = leaf.AsSpan()[i];
                leaf.AsSpan()[i] = saved + Step;
                double plus = Loss();
                leaf.AsSpan()[i] = saved - Step;
                double minus = Loss();
                leaf.AsSpan()[i] = saved;
                double fd = (plus - minus) / (2.0 * Step);
                double err = Math.Abs(fd - analytic[i]);
                if (err > worst)
                {
                    worst = err;
                }

                if (Math.Abs(analytic[i]) >= 1e-2)
                {
                    worstRel = Math.Max(worstRel, err / Math.Abs(analytic[i]));
                }

                if (err > (FdTolerance.Abs * scale) + (FdTolerance.Rel * Math.Abs(analytic[i])) && bad < 0)
                {
                    bad = i;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  leaf {l} element {i}: finite difference {fd:R}, Backward {analytic[i]:R}"));
                }
            }

            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{name} leaf {l} {Tensor.FormatShape(leaf.Shape)}: max |fd - analytic| {worst:0.###e0} (scale {scale:0.###}), max rel {worstRel:0.###e0}, step {Step}"));
            Assert.True(bad < 0, $"{name}: leaf {l} element {bad}: the finite difference disagrees with Backward (see output)");
        }
    }

    [Fact]
    public void Conv2d_strided_asymmetric_padding_with_bias()
    {
        using Tensor x = TestData.NormalTensor(1, 2, 3, 6, 5);
        using Tensor w = TestData.UniformTensor(2, -0.4, 0.4, 4, 3, 3, 3);
        using Tensor b = TestData.UniformTensor(3, -0.4, 0.4, 4);
        var options = new Conv2dOptions { Stride = (2, 1), Padding = new Padding2d(1, 0, 2, 1) };
        Check("conv2d", [x, w, b], () => Functional.Conv2d(x, w, b, options));
    }

    [Fact]
    public void Conv2d_depthwise_dilated_with_fused_sigmoid()
    {
        using Tensor x = TestData.NormalTensor(4, 1, 4, 7, 7);
        using Tensor w = TestData.UniformTensor(5, -0.5, 0.5, 8, 1, 3, 3);
        var options = new Conv2dOptions { Padding = Padding2d.Symmetric(2), Dilation = (2, 2), Groups = 4 };
        Check("conv2d-depthwise-sigmoid", [x, w], () => Functional.Conv2d(x, w, null, options, Activation.Sigmoid));
    }

    [Fact]
    public void MaxPool2d_with_padding()
    {
        using Tensor x = Tensor.FromArray(Spaced(6, 2 * 2 * 7 * 7, 0.05f), 2, 2, 7, 7);
        Check("max_pool2d", [x], () => Functional.MaxPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1) }));
    }

    [Fact]
    public void AvgPool2d_ceil_mode_excluding_padding()
    {
        using Tensor x = TestData.NormalTensor(7, 1, 3, 7, 6);
        Check("avg_pool2d", [x], () => Functional.AvgPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1), CeilMode = true, CountIncludePad = false }));
    }

    [Fact]
    public void LpPool2d_p2_and_p3()
    {
        using Tensor x = TestData.UniformTensor(8, 0.2, 2.0, 1, 2, 6, 6);
        Check("lp_pool2d-p2", [x], () => Functional.LpPool2d(x, new Pool2dOptions(2) { NormType = 2f }));
        using Tensor x3 = TestData.UniformTensor(9, 0.2, 2.0, 1, 2, 5, 5);
        Check("lp_pool2d-p3", [x3], () => Functional.LpPool2d(x3, new Pool2dOptions(3) { Stride = (2, 2), NormType = 3f }));
    }

    [Fact]
    public void BatchNorm2d_training_mode()
    {
        float[] data = TestData.Normal(10, 3 * 2 * 3 * 3, 1.5);
        using Tensor x = Tensor.FromArray(data, 3, 2, 3, 3);
        using Tensor gamma = TestData.UniformTensor(11, 0.5, 1.5, 2);
        using Tensor beta = TestData.NormalTensor(12, 2);
        Check("batch_norm2d_train", [x, gamma, beta], () => Functional.BatchNorm2dTraining(x, gamma, beta, null, null, 0.1f, 1e-5f));
    }

    [Fact]
    public void BatchNorm2d_eval_mode_with_relu()
    {
        using Tensor x = Tensor.FromArray(AwayFromZero(13, 2 * 3 * 4 * 4, 0.3f), 2, 3, 4, 4);
        using Tensor mean = Tensor.Zeros(3);
        using Tensor var = Tensor.Full(1f, 3);
        using Tensor gamma = TestData.UniformTensor(14, 0.5, 1.5, 3);
        Check("batch_norm2d_eval", [x, gamma], () => Functional.BatchNorm2d(x, mean, var, gamma, null, 1e-5f, Activation.Relu));
    }

    [Fact]
    public void Linear_then_cross_entropy_with_label_smoothing()
    {
        using Tensor x = TestData.NormalTensor(15, 4, 6);
        using Tensor w = TestData.UniformTensor(16, -0.5, 0.5, 5, 6);
        using Tensor b = TestData.UniformTensor(17, -0.5, 0.5, 5);
        int[] labels = [0, 4, 2, 2];
        Check("linear-cross_entropy", [x, w, b], () =>
        {
            using Tensor logits = Functional.Linear(x, w, b);
            return Functional.CrossEntropy(logits, labels, 0.1f);
        });
    }

    [Fact]
    public void Softmax_and_log_softmax()
    {
        using Tensor x = TestData.NormalTensor(18, 3, 4, 5);
        Check("softmax-d1", [x], () => Functional.Softmax(x, 1));
        using Tensor x2 = TestData.NormalTensor(19, 3, 7);
        Check("log_softmax-d1", [x2], () => Functional.LogSoftmax(x2, 1));
    }

    [Fact]
    public void Activations_add_and_mse()
    {
        using Tensor a = Tensor.FromArray(AwayFromZero(20, 24, 0.05f), 2, 3, 4);
        using Tensor b = TestData.NormalTensor(21, 2, 3, 4);
        Check("relu", [a], () => Functional.Relu(a));
        Check("add-tanh", [a, b], () => Functional.Add(a, b, Activation.Tanh));
        Check("tanh", [b], () => Functional.Tanh(b));
        using Tensor c = TestData.NormalTensor(22, 2, 3, 4);
        Check("sigmoid", [c], () => Functional.Sigmoid(c));
        using Tensor p = TestData.NormalTensor(23, 3, 5);
        using Tensor t = TestData.NormalTensor(24, 3, 5);
        Check("mse", [p, t], () => Functional.MseLoss(p, t));
    }

    [Fact]
    public void Small_network_end_to_end()
    {
        // conv -> relu -> global average -> flatten -> linear -> cross-entropy (a whole chain of Reference kernels).
        using Tensor x = TestData.NormalTensor(25, 2, 2, 5, 5);
        using Tensor w = TestData.UniformTensor(26, -0.4, 0.4, 3, 2, 3, 3);
        using Tensor cb = Tensor.FromArray([0.3f, 0.5f, 0.7f], 3);
        using Tensor lw = TestData.UniformTensor(27, -0.6, 0.6, 4, 3);
        int[] labels = [3, 1];
        Check("network", [w, cb, lw], () =>
        {
            using Tensor h = Functional.Conv2d(x, w, cb, new Conv2dOptions { Padding = Padding2d.Symmetric(1) }, Activation.Tanh);
            using Tensor g = Functional.GlobalAvgPool2d(h);
            using Tensor f = g.Reshape(2, 3);
            using Tensor logits = Functional.Linear(f, lw, null);
            return Functional.CrossEntropy(logits, labels);
        });
    }
}
