using System.Globalization;
using CnnNative.Interop;
using CnnNative.Optim;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>
/// CnnNative.Optim against torch.optim: from identical parameters and identical gradient sequences,
/// 20 steps must give the same parameters after every step; schedulers the same lr sequences.
/// </summary>
[Collection(OracleCollection.Name)]
public sealed class OptimizerTests(OracleFixture oracle, ITestOutputHelper output)
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

    private static (string TorchName, object Hyper, Func<IEnumerable<Tensor>, Optimizer> Make) Config(string name) => name switch
    {
        "sgd" => ("sgd", new { lr = 0.1 }, ps => new SGD(ps, 0.1f)),
        "sgd-momentum" => ("sgd", new { lr = 0.05, momentum = 0.9 }, ps => new SGD(ps, 0.05f, momentum: 0.9f)),
        "sgd-momentum-dampening" => ("sgd", new { lr = 0.05, momentum = 0.8, dampening = 0.3 }, ps => new SGD(ps, 0.05f, momentum: 0.8f, dampening: 0.3f)),
        "sgd-nesterov" => ("sgd", new { lr = 0.05, momentum = 0.9, nesterov = true }, ps => new SGD(ps, 0.05f, momentum: 0.9f, nesterov: true)),
        "sgd-weight_decay" => ("sgd", new { lr = 0.1, momentum = 0.5, weight_decay = 0.05 }, ps => new SGD(ps, 0.1f, momentum: 0.5f, weightDecay: 0.05f)),
        "sgd-nesterov-weight_decay" => ("sgd", new { lr = 0.03, momentum = 0.95, weight_decay = 0.01, nesterov = true }, ps => new SGD(ps, 0.03f, momentum: 0.95f, weightDecay: 0.01f, nesterov: true)),
        "adam" => ("adam", new { lr = 0.01 }, ps => new Adam(ps, 0.01f)),
        "adam-weight_decay" => ("adam", new { lr = 0.02, weight_decay = 0.1 }, ps => new Adam(ps, 0.02f, weightDecay: 0.1f)),
        // A large eps makes its placement (outside the square root, after bias correction) visible.
        "adam-eps" => ("adam", new { lr = 0.01, eps = 0.05, betas = new[] { 0.8, 0.95 } }, ps => new Adam(ps, 0.01f, beta1: 0.8f, beta2: 0.95f, eps: 0.05f)),
        "adamw" => ("adamw", new { lr = 0.01, weight_decay = 0.1 }, ps => new AdamW(ps, 0.01f, weightDecay: 0.1f)),
        "adamw-betas" => ("adamw", new { lr = 0.005, betas = new[] { 0.5, 0.9 }, eps = 1e-6 }, ps => new AdamW(ps, 0.005f, beta1: 0.5f, beta2: 0.9f, eps: 1e-6f)),
        "rmsprop" => ("rmsprop", new { lr = 0.01 }, ps => new RMSprop(ps, 0.01f)),
        "rmsprop-momentum-weight_decay" => ("rmsprop", new { lr = 0.005, alpha = 0.9, momentum = 0.8, weight_decay = 0.02 }, ps => new RMSprop(ps, 0.005f, alpha: 0.9f, momentum: 0.8f, weightDecay: 0.02f)),
        "rmsprop-eps" => ("rmsprop", new { lr = 0.01, eps = 0.1 }, ps => new RMSprop(ps, 0.01f, eps: 0.1f)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Twenty_steps_match_torch_optim(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        (string torchName, object hyper, Func<IEnumerable<Tensor>, Optimizer> make) = Config(name);
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

            if (i == 1)
            {
                Array.Fill(g, float.NaN, SkipStep * count, count); // the oracle's "no gradient" marker
            }

            return g;
        }).ToArray();

        var tensors = new List<OracleTensor>();
        for (int i = 0; i < s_shapes.Length; i++)
        {
            tensors.Add(new OracleTensor($"param.{i}", initial[i], s_shapes[i]));
            tensors.Add(new OracleTensor($"grads.{i}", grads[i], [Steps, .. s_shapes[i]]));
        }

        OracleReply torch = oracle.Run("optim", new { optimizer = torchName, hyper, steps = Steps }, [.. tensors]);

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
                    int count = (int)parameters[i].Length;
                    parameters[i].Grad = i == 1 && step == SkipStep
                        ? null
                        : Tensor.FromArray(grads[i].AsSpan(step * count, count).ToArray(), s_shapes[i]);
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
                OracleTensor expected = torch[$"param.{i}"];
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
        OracleReply torch = p[0] == "step"
            ? oracle.Run("lr_schedule", new { scheduler = "step", lr, epochs, step_size = int.Parse(p[1], CultureInfo.InvariantCulture), gamma = double.Parse(p[2], CultureInfo.InvariantCulture) })
            : oracle.Run("lr_schedule", new { scheduler = "cosine", lr, epochs, t_max = int.Parse(p[1], CultureInfo.InvariantCulture), eta_min = double.Parse(p[2], CultureInfo.InvariantCulture) });
        double[] expected = torch.Header["lrs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

        using Tensor w = Tensor.Zeros(3);
        w.RequiresGrad = true;
        using var sgd = new SGD([w], lr);
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
            OracleReply torch = oracle.Run(
                "clip_grad_norm", new { max_norm = maxNorm },
                [.. grads.Select((g, i) => new OracleTensor($"grad.{i}", g, s_shapes[i]))]);
            float total = GradClip.ClipGradNorm([.. parameters, noGrad], maxNorm);
            double expectedTotal = torch.Header["total_norm"]!.GetValue<double>();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total norm {total:R}, torch {expectedTotal:R}"));
            Assert.True(Math.Abs(total - expectedTotal) <= 1e-6 * expectedTotal, $"total norm {total} != torch {expectedTotal}");
            Assert.Null(noGrad.Grad);
            for (int i = 0; i < parameters.Length; i++)
            {
                OracleErrors.AssertClose(output, "clip_grad_norm", isa, $"max{maxNormText}-grad{i}", parameters[i].Grad!, torch[$"grad.{i}"], new Tolerance(1e-7, 1e-6));
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
