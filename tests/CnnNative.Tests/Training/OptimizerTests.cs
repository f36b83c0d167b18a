using System.Globalization;
using CnnNative.Interop;
using CnnNative.Optim;
using CnnNative.Tests.Infrastructure;
using TorchOptimizers = TorchSharp.torch.optim;

namespace CnnNative.Tests.Training;

/// <summary>
/// CnnNative.Optim against torch.optim (TorchSharp's, float64; see <see cref="TorchOptim"/>): from identical
/// parameters and identical gradient sequences, 20 steps must give the same parameters after every step;
/// schedulers the same lr sequences; gradient clipping torch's clip_grad_norm_.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class OptimizerTests(ITestOutputHelper output)
{
    /// <summary>
    /// Parameters after each of 20 steps, float32 state vs torch's float64: per unit of the parameter's
    /// scale, 2e-6 absolute plus 1e-5 relative (20 float32 roundings of O(1) values are ~1e-6).
    /// </summary>
    public static readonly Tolerance OptimizerTolerance = new(2e-6, 1e-5);

    /// <summary>Learning rates (float32 vs float64 closed/recursive forms).</summary>
    public static readonly Tolerance SchedulerTolerance = new(1e-8, 2e-6);

    private const int Steps = 20;

    /// <summary>Parameter shapes: shorter than a vector, a vector and a tail, several vectors.</summary>
    private static readonly int[][] s_shapes = [[7], [3, 5], [40]];

    /// <summary>Parameter 1 gets no gradient at this step (Grad = null: skipped, its step count not advanced).</summary>
    private const int SkipStep = 4;

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(
    [
        "sgd", "sgd-momentum", "sgd-momentum-dampening", "sgd-nesterov", "sgd-weight_decay", "sgd-nesterov-weight_decay",
        "adam", "adam-weight_decay", "adam-eps", "adamw", "adamw-betas",
        "rmsprop", "rmsprop-momentum-weight_decay", "rmsprop-eps",
    ]);

    /// <summary>The torch optimizer (hyper-parameters as torch keyword arguments) and the CnnNative one of a case.</summary>
    private static (Func<IEnumerable<TorchSharp.Modules.Parameter>, TorchOptimizers.Optimizer> Torch, Func<IEnumerable<Tensor>, Optimizer> Make) Config(string name) => name switch
    {
        "sgd" => (ps => TorchOptimizers.SGD(ps, 0.1), ps => new CnnNative.Optim.SGD(ps, 0.1f)),
        "sgd-momentum" => (ps => TorchOptimizers.SGD(ps, 0.05, momentum: 0.9), ps => new CnnNative.Optim.SGD(ps, 0.05f, momentum: 0.9f)),
        "sgd-momentum-dampening" => (ps => TorchOptimizers.SGD(ps, 0.05, momentum: 0.8, dampening: 0.3), ps => new CnnNative.Optim.SGD(ps, 0.05f, momentum: 0.8f, dampening: 0.3f)),
        "sgd-nesterov" => (ps => TorchOptimizers.SGD(ps, 0.05, momentum: 0.9, nesterov: true), ps => new CnnNative.Optim.SGD(ps, 0.05f, momentum: 0.9f, nesterov: true)),
        "sgd-weight_decay" => (ps => TorchOptimizers.SGD(ps, 0.1, momentum: 0.5, weight_decay: 0.05), ps => new CnnNative.Optim.SGD(ps, 0.1f, momentum: 0.5f, weightDecay: 0.05f)),
        "sgd-nesterov-weight_decay" => (ps => TorchOptimizers.SGD(ps, 0.03, momentum: 0.95, weight_decay: 0.01, nesterov: true), ps => new CnnNative.Optim.SGD(ps, 0.03f, momentum: 0.95f, weightDecay: 0.01f, nesterov: true)),
        "adam" => (ps => TorchOptimizers.Adam(ps, 0.01), ps => new CnnNative.Optim.Adam(ps, 0.01f)),
        "adam-weight_decay" => (ps => TorchOptimizers.Adam(ps, 0.02, weight_decay: 0.1), ps => new CnnNative.Optim.Adam(ps, 0.02f, weightDecay: 0.1f)),
        // A large eps makes its placement (outside the square root, after bias correction) visible.
        "adam-eps" => (ps => TorchOptimizers.Adam(ps, 0.01, beta1: 0.8, beta2: 0.95, eps: 0.05), ps => new CnnNative.Optim.Adam(ps, 0.01f, beta1: 0.8f, beta2: 0.95f, eps: 0.05f)),
        "adamw" => (ps => TorchOptimizers.AdamW(ps, 0.01, weight_decay: 0.1), ps => new CnnNative.Optim.AdamW(ps, 0.01f, weightDecay: 0.1f)),
        // PyTorch's AdamW default weight decay, 0.01 (CnnNative's too); TorchSharp's default is 0, so it is given.
        "adamw-betas" => (ps => TorchOptimizers.AdamW(ps, 0.005, beta1: 0.5, beta2: 0.9, eps: 1e-6, weight_decay: 0.01), ps => new CnnNative.Optim.AdamW(ps, 0.005f, beta1: 0.5f, beta2: 0.9f, eps: 1e-6f)),
        "rmsprop" => (ps => TorchOptimizers.RMSProp(ps, 0.01), ps => new CnnNative.Optim.RMSprop(ps, 0.01f)),
        "rmsprop-momentum-weight_decay" => (ps => TorchOptimizers.RMSProp(ps, 0.005, alpha: 0.9, momentum: 0.8, weight_decay: 0.02), ps => new CnnNative.Optim.RMSprop(ps, 0.005f, alpha: 0.9f, momentum: 0.8f, weightDecay: 0.02f)),
        "rmsprop-eps" => (ps => TorchOptimizers.RMSProp(ps, 0.01, eps: 0.1), ps => new CnnNative.Optim.RMSprop(ps, 0.01f, eps: 0.1f)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Twenty_steps_match_torch_optim(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        (var torchOptimizer, Func<IEnumerable<Tensor>, Optimizer> make) = Config(name);
        int seed = Seeds.Of(name);

        var initial = s_shapes.Select((s, i) => TestData.Normal(seed + i, TestData.Count(s))).ToArray();
        // Gradients: O(1) with a drift (so momentum matters), parameter 2 small (eps matters).
        var grads = s_shapes.Select((s, i) =>
        {
            int count = (int)TestData.Count(s);
            float[] g = TestData.Normal(seed + 100 + i, (long)Steps * count, i == 2 ? 0.01 : 1.0);
            for (int k = 0; k < g.Length; k++)
            {
                g[k] += (i == 2 ? 0.003f : 0.3f) * ((k % count) % 3 - 1);
            }

            return g;
        }).ToArray();

        // The gradient of parameter i at a step, or none (null) for parameter 1 at SkipStep.
        float[]? GradientAt(int i, int step)
        {
            int count = (int)TestData.Count(s_shapes[i]);
            return i == 1 && step == SkipStep ? null : grads[i].AsSpan(step * count, count).ToArray();
        }

        float[][] torch = TorchOptim.Steps(torchOptimizer, initial, s_shapes, Steps, GradientAt);

        var parameters = s_shapes.Select((s, i) => Tensor.FromArray(initial[i], s)).ToArray();
        try
        {
            foreach (Tensor p in parameters)
            {
                p.RequiresGrad = true;
            }

            using Optimizer opt = make(parameters);
            var history = s_shapes.Select(s => new float[Steps * TestData.Count(s)]).ToArray();
            for (int step = 0; step < Steps; step++)
            {
                for (int i = 0; i < parameters.Length; i++)
                {
                    parameters[i].Grad = GradientAt(i, step) is float[] g ? Tensor.FromArray(g, s_shapes[i]) : null;
                }

                opt.Step();
                for (int i = 0; i < parameters.Length; i++)
                {
                    parameters[i].ToArray().CopyTo(history[i], step * parameters[i].Length);
                }
            }

            Assert.Equal(Steps, opt.StepCount(parameters[0]));
            Assert.Equal(Steps - 1, opt.StepCount(parameters[1]));
            for (int i = 0; i < parameters.Length; i++)
            {
                var expected = new OracleTensor($"param.{i}", torch[i], [Steps, .. s_shapes[i]]);
                OracleErrors.AssertClose(
                    output, $"optim.{name}", isa, $"param{i}-{Tensor.FormatShape(s_shapes[i])}", history[i], [Steps, .. s_shapes[i]],
                    expected, GradCheck.Scaled(OptimizerTolerance, expected));
            }
        }
        finally
        {
            foreach (Tensor p in parameters)
            {
                p.Dispose();
            }
        }
    }

    public static TheoryData<string> SchedulerRows => new() { "step-3-0.5", "step-1-0.1", "step-4-0.9", "cosine-5-0.001", "cosine-10-0", "cosine-1-0.01" };

    [Theory]
    [MemberData(nameof(SchedulerRows))]
    public void Scheduler_learning_rates_match_torch(string name)
    {
        string[] p = name.Split('-');
        const int epochs = 13;
        const float lr = 0.1f;
        int period = int.Parse(p[1], CultureInfo.InvariantCulture);
        double factor = double.Parse(p[2], CultureInfo.InvariantCulture);
        double[] expected = p[0] == "step"
            ? TorchOptim.LearningRates(o => TorchOptimizers.lr_scheduler.StepLR(o, step_size: period, gamma: factor), lr, epochs)
            : TorchOptim.LearningRates(o => TorchOptimizers.lr_scheduler.CosineAnnealingLR(o, T_max: period, eta_min: factor), lr, epochs);

        using Tensor w = Tensor.Zeros(3);
        w.RequiresGrad = true;
        using var sgd = new CnnNative.Optim.SGD([w], lr);
        LRScheduler sched = p[0] == "step"
            ? new StepLR(sgd, int.Parse(p[1], CultureInfo.InvariantCulture), float.Parse(p[2], CultureInfo.InvariantCulture))
            : new CosineAnnealingLR(sgd, int.Parse(p[1], CultureInfo.InvariantCulture), float.Parse(p[2], CultureInfo.InvariantCulture));
        var lrs = new List<float> { sgd.LearningRate };
        for (int e = 0; e < epochs; e++)
        {
            sgd.Step();
            sched.Step();
            Assert.Equal(sgd.LearningRate, sched.LastLearningRate);
            lrs.Add(sgd.LearningRate);
        }

        output.WriteLine("epoch  CnnNative  torch");
        for (int e = 0; e < lrs.Count; e++)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e,5}  {lrs[e]:0.000000000}  {expected[e]:0.000000000}"));
        }

        OracleErrors.AssertClose(
            output, "lr_scheduler." + p[0], CnnIsa.Reference, name, [.. lrs], [lrs.Count],
            new OracleTensor("lrs", expected.Select(v => (float)v).ToArray(), [expected.Length]), SchedulerTolerance);
    }

    public static TheoryData<string, CnnIsa> ClipRows => Isas.Cross(["0.5", "3", "1000"]);

    /// <summary>GradClip.ClipGradNorm against torch.nn.utils.clip_grad_norm_ (norm 2, coefficient max/(norm + 1e-6)).</summary>
    [Theory]
    [MemberData(nameof(ClipRows))]
    public void ClipGradNorm_matches_torch(string maxNormText, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        float maxNorm = float.Parse(maxNormText, CultureInfo.InvariantCulture);
        var parameters = s_shapes.Select(s => Tensor.Zeros(s)).ToArray();
        using Tensor noGrad = Tensor.Zeros(5);
        try
        {
            var grads = s_shapes.Select((s, i) => TestData.Normal(Seeds.Of("clip") + i, TestData.Count(s))).ToArray();
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i].RequiresGrad = true;
                parameters[i].Grad = Tensor.FromArray(grads[i], s_shapes[i]);
            }

            noGrad.RequiresGrad = true;
            (double expectedTotal, float[][] clipped) = TorchOptim.ClipGradNorm(grads, s_shapes, maxNorm);
            float total = GradClip.ClipGradNorm([.. parameters, noGrad], maxNorm);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total norm {total:R}, torch {expectedTotal:R}"));
            Assert.True(Math.Abs(total - expectedTotal) <= 1e-6 * expectedTotal, $"total norm {total} != torch {expectedTotal}");
            Assert.Null(noGrad.Grad);
            for (int i = 0; i < parameters.Length; i++)
            {
                OracleErrors.AssertClose(output, "clip_grad_norm", isa, $"max{maxNormText}-grad{i}", parameters[i].Grad!, new OracleTensor($"grad.{i}", clipped[i], s_shapes[i]), new Tolerance(1e-7, 1e-6));
            }
        }
        finally
        {
            foreach (Tensor p in parameters)
            {
                p.Dispose();
            }
        }
    }
}
