using System.Collections.Concurrent;
using System.Globalization;
using CnnNative.Interop;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Training;

/// <summary>
/// Gradients of BatchNorm2d (eval: running statistics as constants; training: batch statistics,
/// running statistics updated), ReLU/Sigmoid/Tanh, Linear (+ fused activation), Softmax/LogSoftmax,
/// Add (+ activation, and a tensor added to itself) and Flatten against torch autograd.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LayerGradTests(ITestOutputHelper output)
{
    /// <summary>Batch norm eval backward: g * gamma * invstd and per-channel sums over N*H*W.</summary>
    public static readonly Tolerance BatchNormGradTolerance = new(1e-5, 1e-4);

    /// <summary>Batch norm training backward: two per-channel reductions feed every input gradient.</summary>
    public static readonly Tolerance BatchNormTrainGradTolerance = new(2e-5, 2e-4);

    /// <summary>Batch norm training forward output and saved statistics.</summary>
    public static readonly Tolerance BatchNormTrainTolerance = new(1e-5, 1e-5);

    /// <summary>
    /// Activation gradients are computed from the float32 forward OUTPUT (design): sigmoid's 1 - y and
    /// tanh's 1 - y^2 carry an absolute rounding of ~ulp(1)/2 = 6e-8 where y ~ 1, times |g| (up to ~4):
    /// abs 3e-7 per unit, rel 1e-5 (relu: exact).
    /// </summary>
    public static readonly Tolerance ActivationGradTolerance = new(3e-7, 1e-5);

    /// <summary>Linear: dot products of up to ~1000 terms (input grad: over out; weight grad: over batch).</summary>
    public static readonly Tolerance LinearGradTolerance = new(1e-5, 1e-4);

    /// <summary>Softmax backward: y * (g - sum(g * y)), a short float sum.</summary>
    public static readonly Tolerance SoftmaxGradTolerance = new(2e-6, 1e-4);

    /// <summary>Add and Flatten pass gradients through (add with an activation: one product).</summary>
    public static readonly Tolerance PassThroughTolerance = new(1e-7, 1e-6);

    private static readonly ConcurrentDictionary<string, TorchResult> s_expected = new();

    // ---------------------------------------------------------------------------------- batch norm (eval)

    public static TheoryData<string, CnnIsa> BatchNormRows => Isas.Cross(
    [
        "1x3x5x5-affine-none-0.00001",
        "2x17x7x9-affine-relu-0.00001",
        "3x8x1x1-noweight-none-0.001",
        "1x64x4x4-nobias-sigmoid-0.00001",
        "2x5x3x11-none-tanh-0.1",
        "4x33x9x9-affine-relu-0",
    ]);

    [Theory]
    [MemberData(nameof(BatchNormRows))]
    public void BatchNorm2d_eval_gradients_match_torch(string name, CnnIsa isa)
    {
        (int[] shape, string affine, Activation act, float eps) = CaseNames.BatchNorm(name);
        int c = shape[1], seed = Seeds.Of(name);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, shape));
        using Tensor mean = Tensor.FromArray(TestData.Normal(seed + 1, c, 0.5), c);
        using Tensor var = TestData.UniformTensor(seed + 2, 0.1, 2.0, c);
        using Tensor? weight = affine is "affine" or "nobias" ? GradCheck.Leaf(TestData.UniformTensor(seed + 3, 0.5, 1.5, c)) : null;
        using Tensor? bias = affine is "affine" or "noweight" ? GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed + 4, c, 0.3), c)) : null;

        using Tensor y = Functional.BatchNorm2d(x, mean, var, weight, bias, eps, act);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        TorchResult expected = s_expected.GetOrAdd("bn-" + name, _ => TorchReference.Gradients(
            go, t => TorchOps.BatchNormEval(t["input"], Torch.From(mean), Torch.From(var), t.Optional("weight"), t.Optional("bias"), eps, act),
            ("input", x), ("weight", weight), ("bias", bias)));

        y.Backward(go);
        TorchReference.AssertGrad(output, "batch_norm2d_eval", "input", isa, name, x, expected, BatchNormGradTolerance);
        if (weight != null)
        {
            TorchReference.AssertGrad(output, "batch_norm2d_eval", "weight", isa, name, weight, expected, BatchNormGradTolerance);
        }

        if (bias != null)
        {
            TorchReference.AssertGrad(output, "batch_norm2d_eval", "bias", isa, name, bias, expected, BatchNormGradTolerance);
        }

        Assert.Null(mean.Grad);
        Assert.Null(var.Grad);
    }

    // ---------------------------------------------------------------------------------- batch norm (training)

    public static TheoryData<string, CnnIsa> BatchNormTrainRows => Isas.Cross(
    [
        "2x3x5x5-affine-track-0.1",
        "1x17x7x9-affine-track-0.1",
        "8x8x1x1-affine-track-0.3",
        "3x64x4x4-noweight-track-0.1",
        "2x5x3x11-nobias-notrack-0.1",
        "4x33x9x9-none-track-0.01",
        "1x1x1x2-affine-track-1",
    ]);

    [Theory]
    [MemberData(nameof(BatchNormTrainRows))]
    public void BatchNorm2d_training_forward_running_stats_and_gradients_match_torch(string name, CnnIsa isa)
    {
        string[] parts = name.Split('-');
        int[] shape = parts[0].Split('x').Select(int.Parse).ToArray();
        string affine = parts[1];
        bool track = parts[2] == "track";
        float momentum = float.Parse(parts[3], CultureInfo.InvariantCulture);
        const float eps = 1e-5f;
        int c = shape[1], seed = Seeds.Of(name);

        using IDisposable _ = Isas.Use(isa);
        // A non-zero mean and a non-unit scale per channel, like real activations.
        float[] data = TestData.Normal(seed, TestData.Count(shape), 1.5);
        int plane = shape[2] * shape[3];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] += 0.5f * ((i / plane) % c);
        }

        using Tensor x = GradCheck.Leaf(Tensor.FromArray(data, shape));
        using Tensor? rm = track ? Tensor.FromArray(TestData.Normal(seed + 1, c, 0.5), c) : null;
        using Tensor? rv = track ? TestData.UniformTensor(seed + 2, 0.25, 1.75, c) : null;
        using Tensor? weight = affine is "affine" or "nobias" ? GradCheck.Leaf(TestData.UniformTensor(seed + 3, 0.5, 1.5, c)) : null;
        using Tensor? bias = affine is "affine" or "noweight" ? GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed + 4, c, 0.3), c)) : null;

        // Snapshot before the forward pass updates the running statistics (rm and rv are both present or both absent).
        float[]? rm0 = rm?.ToArray(), rv0 = rv?.ToArray();

        using Tensor y = Functional.BatchNorm2dTraining(x, weight, bias, rm, rv, momentum, eps);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        TorchResult expected = s_expected.GetOrAdd("bntrain-" + name, _ => TorchReference.Gradients(
            go,
            t =>
            {
                TT? runningMean = null, runningVar = null;
                if (rm0 is not null)
                {
                    runningMean = Torch.From(rm0, [c]);
                    runningVar = Torch.From(rv0!, [c]);
                    t.Keep("running_mean", runningMean);
                    t.Keep("running_var", runningVar);
                }

                return TorchOps.BatchNormTraining(t["input"], runningMean, runningVar, t.Optional("weight"), t.Optional("bias"), momentum, eps);
            },
            ("input", x), ("weight", weight), ("bias", bias)));

        OracleErrors.AssertClose(output, "batch_norm2d_train", isa, name, y, expected["output"], BatchNormTrainTolerance);
        if (rm != null)
        {
            OracleErrors.AssertClose(output, "batch_norm2d_train.running_mean", isa, name, rm, expected["running_mean"], BatchNormTrainTolerance);
            OracleErrors.AssertClose(output, "batch_norm2d_train.running_var", isa, name, rv!, expected["running_var"], BatchNormTrainTolerance);
        }

        y.Backward(go);
        TorchReference.AssertGrad(output, "batch_norm2d_train", "input", isa, name, x, expected, BatchNormTrainGradTolerance);
        if (weight != null)
        {
            TorchReference.AssertGrad(output, "batch_norm2d_train", "weight", isa, name, weight, expected, BatchNormTrainGradTolerance);
        }

        if (bias != null)
        {
            TorchReference.AssertGrad(output, "batch_norm2d_train", "bias", isa, name, bias, expected, BatchNormTrainGradTolerance);
        }
    }

    /// <summary>
    /// The BatchNorm2d module with momentum = null (torch's cumulative moving average, factor
    /// 1 / num_batches_tracked) over three training batches: running statistics and the last
    /// batch's gradients against three chained torch batch_norm(training=True) calls.
    /// </summary>
    [Theory]
    [MemberData(nameof(IsaRows))]
    public void BatchNorm2d_module_cumulative_average_over_three_batches_matches_torch(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        const int c = 5;
        using var bn = new BatchNorm2d(c, momentum: null);
        bn.Train();
        float[] rm = bn.RunningMean!.ToArray(), rv = bn.RunningVar!.ToArray();
        for (int k = 1; k <= 3; k++)
        {
            float[] data = TestData.Normal(500 + k, 2 * c * 3 * 4, k);
            for (int i = 0; i < data.Length; i++)
            {
                data[i] += k;
            }

            using Tensor x = GradCheck.Leaf(Tensor.FromArray(data, 2, c, 3, 4));
            using Tensor y = bn.Forward(x);
            using Tensor go = GradCheck.GradOutput(600 + k, y.Shape);
            // torch's cumulative average is momentum 1/k at batch k, chained through torch's own running statistics.
            double momentum = 1.0 / k;
            TorchResult torch = TorchReference.Gradients(
                go,
                t =>
                {
                    TT runningMean = Torch.From(rm, [c]), runningVar = Torch.From(rv, [c]);
                    t.Keep("running_mean", runningMean);
                    t.Keep("running_var", runningVar);
                    return TorchOps.BatchNormTraining(t["input"], runningMean, runningVar, t["weight"], t["bias"], momentum, 1e-5);
                },
                ("input", x), ("weight", bn.Weight), ("bias", bn.Bias));
            rm = torch["running_mean"].Data;
            rv = torch["running_var"].Data;
            Assert.Equal(k, bn.NumBatchesTracked!.ToArray()[0]);
            OracleErrors.AssertClose(output, "batch_norm2d_module_cma.running_mean", isa, $"batch{k}", bn.RunningMean!, torch["running_mean"], BatchNormTrainTolerance);
            OracleErrors.AssertClose(output, "batch_norm2d_module_cma.running_var", isa, $"batch{k}", bn.RunningVar!, torch["running_var"], BatchNormTrainTolerance);
            y.Backward(go);
            TorchReference.AssertGrad(output, "batch_norm2d_module_cma", "input", isa, $"batch{k}", x, torch, BatchNormTrainGradTolerance);
        }

        GradCheck.AssertGrad(output, "grad:batch_norm2d_module_cma.weight_3_batches", isa, "sum", bn.Weight!, SumOfWeightGrads(), BatchNormTrainGradTolerance);

        OracleTensor SumOfWeightGrads()
        {
            // The weight gradient accumulated over the three Backward calls: recompute torch's per batch (the module's
            // weight is still its initial ones, bias zeros; the running statistics do not enter training-mode gradients).
            var sum = new float[c];
            using Tensor ones = Tensor.Full(1f, c);
            using Tensor zeros = Tensor.Zeros(c);
            for (int k = 1; k <= 3; k++)
            {
                using Tensor xk = Tensor.FromArray(TestData.Normal(500 + k, 2 * c * 3 * 4, k).Select(v => v + k).ToArray(), 2, c, 3, 4);
                using Tensor gok = GradCheck.GradOutput(600 + k, [2, c, 3, 4]);
                TorchResult r = TorchReference.Gradients(
                    gok, t => TorchOps.BatchNormTraining(t["input"], null, null, t["weight"], t["bias"], 1.0 / k, 1e-5),
                    ("input", xk), ("weight", ones), ("bias", zeros));
                for (int j = 0; j < c; j++)
                {
                    sum[j] += r["grad.weight"].Data[j];
                }
            }

            return new OracleTensor("grad.weight", sum, [c]);
        }
    }

    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    // ---------------------------------------------------------------------------------- activations

    public static TheoryData<string, CnnIsa> ActivationRows => CaseNames.ActivationRows();

    [Theory]
    [MemberData(nameof(ActivationRows))]
    public void Activation_gradients_match_torch(string name, CnnIsa isa)
    {
        (string op, string shapeText) = CaseNames.SplitFirstDash(name);
        int[] shape = CaseNames.Shape(shapeText);
        using IDisposable _ = Isas.Use(isa);
        float[] data = TestData.Normal(Seeds.Of(name), TestData.Count(shape), 3.0);
        float[] special = [0f, -0f, 1e-30f, -1e-30f, 30f, -30f, 0.5f, -0.5f];
        Array.Copy(special, data, Math.Min(special.Length, data.Length));
        using Tensor x = GradCheck.Leaf(Tensor.FromArray(data, shape));
        using Tensor y = op switch { "relu" => Functional.Relu(x), "sigmoid" => Functional.Sigmoid(x), _ => Functional.Tanh(x) };
        using Tensor go = GradCheck.GradOutput(Seeds.Of(name), shape);
        TorchResult expected = s_expected.GetOrAdd("act-" + name, _ => TorchReference.Gradients(
            go, t => TorchOps.Activate(t["input"], Enum.Parse<Activation>(op, ignoreCase: true)), ("input", x)));
        y.Backward(go);
        TorchReference.AssertGrad(output, op, "input", isa, name, x, expected, ActivationGradTolerance);
    }

    // ---------------------------------------------------------------------------------- linear

    public static TheoryData<string, CnnIsa> LinearRows => Isas.Cross(
    [
        "1-1-1-bias-none",
        "1-17-10-bias-relu",
        "3-400-120-bias-relu",
        "4-84-10-nobias-none",
        "2-64-33-bias-sigmoid",
        "5-9-16-nobias-tanh",
        "1-1000-3-bias-none",
        "7-8-8-bias-relu",
        "64-100-50-bias-none",
        "2x3-17-10-bias-tanh",
        "3x1x2-33-5-nobias-none",
    ]);

    [Theory]
    [MemberData(nameof(LinearRows))]
    public void Linear_gradients_match_torch(string name, CnnIsa isa)
    {
        (int[] lead, int inF, int outF, bool hasBias, Activation act) = CaseNames.Linear(name);
        int seed = Seeds.Of(name);
        float bound = 1f / MathF.Sqrt(inF);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, [.. lead, inF]));
        using Tensor w = GradCheck.Leaf(TestData.UniformTensor(seed + 1, -bound, bound, outF, inF));
        using Tensor? b = hasBias ? GradCheck.Leaf(TestData.UniformTensor(seed + 2, -bound, bound, outF)) : null;
        using Tensor y = Functional.Linear(x, w, b, act);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        TorchResult expected = s_expected.GetOrAdd("linear-" + name, _ => TorchReference.Gradients(
            go, t => TorchOps.Linear(t["input"], t["weight"], t.Optional("bias"), act), ("input", x), ("weight", w), ("bias", b)));
        y.Backward(go);
        TorchReference.AssertGrad(output, "linear", "input", isa, name, x, expected, LinearGradTolerance);
        TorchReference.AssertGrad(output, "linear", "weight", isa, name, w, expected, LinearGradTolerance);
        if (b != null)
        {
            TorchReference.AssertGrad(output, "linear", "bias", isa, name, b, expected, LinearGradTolerance);
        }
    }

    // ---------------------------------------------------------------------------------- softmax

    public static TheoryData<string, CnnIsa> SoftmaxRows
    {
        get
        {
            var names = new List<string>();
            foreach (string op in new[] { "softmax", "log_softmax" })
            {
                names.AddRange(
                [
                    $"{op}-4x10-d1-s1", $"{op}-4x10-d0-s1", $"{op}-4x10-d-1-s1",
                    $"{op}-2x3x5x7-d1-s1", $"{op}-2x3x5x7-d3-s1", $"{op}-2x3x5x7-d-3-s1",
                    $"{op}-1x1000-d1-s3", $"{op}-3x17-d1-s50", $"{op}-6-d0-s1", $"{op}-2x1x4x4-d1-s1",
                ]);
            }

            return Isas.Cross(names);
        }
    }

    [Theory]
    [MemberData(nameof(SoftmaxRows))]
    public void Softmax_gradients_match_torch(string name, CnnIsa isa)
    {
        (string op, int[] shape, int dim, double scale) = CaseNames.Softmax(name);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(Seeds.Of(name), TestData.Count(shape), scale), shape));
        bool log = op == "log_softmax";
        using Tensor y = log ? Functional.LogSoftmax(x, dim) : Functional.Softmax(x, dim);
        using Tensor go = GradCheck.GradOutput(Seeds.Of(name), shape);
        TorchResult expected = s_expected.GetOrAdd("sm-" + name, _ => TorchReference.Gradients(
            go, t => log ? TorchOps.LogSoftmax(t["input"], dim) : TorchOps.Softmax(t["input"], dim), ("input", x)));
        y.Backward(go);
        TorchReference.AssertGrad(output, op, "input", isa, name, x, expected, SoftmaxGradTolerance);
    }

    // ---------------------------------------------------------------------------------- add, flatten

    public static TheoryData<string, CnnIsa> AddRows => CaseNames.AddRows();

    [Theory]
    [MemberData(nameof(AddRows))]
    public void Add_gradients_match_torch(string name, CnnIsa isa)
    {
        (string shapeText, string actText) = CaseNames.SplitFirstDash(name);
        int[] shape = CaseNames.Shape(shapeText);
        var act = Enum.Parse<Activation>(actText, ignoreCase: true);
        int seed = Seeds.Of(name);
        using IDisposable _ = Isas.Use(isa);
        using Tensor a = GradCheck.Leaf(TestData.NormalTensor(seed, shape));
        using Tensor b = GradCheck.Leaf(TestData.NormalTensor(seed + 1, shape));
        using Tensor y = Functional.Add(a, b, act);
        using Tensor go = GradCheck.GradOutput(seed, shape);
        TorchResult expected = s_expected.GetOrAdd("add-" + name, _ =>
            TorchReference.Gradients(go, t => TorchOps.Add(t["a"], t["b"], act), ("a", a), ("b", b)));
        y.Backward(go);
        Tolerance tolerance = act == Activation.None ? PassThroughTolerance : ActivationGradTolerance;
        TorchReference.AssertGrad(output, "add", "a", isa, name, a, expected, tolerance);
        TorchReference.AssertGrad(output, "add", "b", isa, name, b, expected, tolerance);

        // x + x: both uses of the same leaf accumulate (d/dx = 2 g for no activation).
        using Tensor s = GradCheck.Leaf(TestData.NormalTensor(seed + 2, shape));
        using Tensor y2 = Functional.Add(s, s, act);
        // Two separate torch leaves with s's values: their gradients are the two uses, summed below.
        TorchResult twice = s_expected.GetOrAdd("add-same-" + name, _ =>
            TorchReference.Gradients(go, t => TorchOps.Add(t["a"], t["b"], act), ("a", s), ("b", s)));
        y2.Backward(go);
        var sum = new OracleTensor("grad.sum", twice["grad.a"].Data.Zip(twice["grad.b"].Data, (p, q) => p + q).ToArray(), shape);
        OracleErrors.AssertClose(output, "grad:add.same_input", isa, name, s.Grad!, sum, GradCheck.Scaled(tolerance, sum));
    }

    public static TheoryData<string, CnnIsa> FlattenRows => Isas.Cross(["2x3x4x5-1", "1x16x5x5-1", "3x7-1", "2x3x4x5-2", "4x6x1x1-1"]);

    [Theory]
    [MemberData(nameof(FlattenRows))]
    public void Flatten_gradient_matches_torch(string name, CnnIsa isa)
    {
        int[] shape = name[..name.IndexOf('-')].Split('x').Select(int.Parse).ToArray();
        int startDim = int.Parse(name[(name.IndexOf('-') + 1)..], CultureInfo.InvariantCulture);
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(Seeds.Of(name), shape));
        using var flatten = new Flatten(startDim);
        using Tensor flat = flatten.Forward(x);

        // Through an op after the view, as in a network (Flatten -> Linear).
        using Tensor y = Functional.Tanh(flat);
        using Tensor go = GradCheck.GradOutput(Seeds.Of(name), y.Shape);
        TorchResult expected = s_expected.GetOrAdd("flatten-" + name, _ =>
            TorchReference.Gradients(go, t => t["input"].flatten(startDim).tanh(), ("input", x)));
        y.Backward(go);
        TorchReference.AssertGrad(output, "flatten", "input", isa, name, x, expected, ActivationGradTolerance);

        // Flatten alone: the gradient is the upstream gradient reshaped.
        using Tensor x2 = GradCheck.Leaf(TestData.NormalTensor(Seeds.Of(name) + 1, shape));
        using Tensor flat2 = flatten.Forward(x2);
        TorchResult plain = s_expected.GetOrAdd("flatten-plain-" + name, _ =>
            TorchReference.Gradients(go, t => t["input"].flatten(startDim), ("input", x2)));
        flat2.Backward(go);
        TorchReference.AssertGrad(output, "flatten", "input", isa, name + "-alone", x2, plain, new Tolerance(0, 0));
    }
}
