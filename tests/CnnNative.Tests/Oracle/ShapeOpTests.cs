using System.Globalization;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// The shape / element-wise helper ops against torch, forward and gradients, on every tested ISA:
/// ReLU6 (alone and fused into conv2d, depthwise conv2d, linear, batch norm and add), clamp / Hardtanh,
/// Concat, Narrow, AdaptiveAvgPool2d to any size, ScaleShift and Conv1d (references: <see cref="TorchOps"/>).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ShapeOpTests(ITestOutputHelper output)
{
    /// <summary>ReLU6, clamp, copies and their gradients (g or 0) are exact in float32.</summary>
    public static readonly Tolerance ExactTolerance = new(0, 1.2e-7);

    /// <summary>Adaptive pooling: a float sum of up to a window's elements and two divisions.</summary>
    public static readonly Tolerance PoolTolerance = new(1e-6, 1e-5);

    /// <summary>ScaleShift: a float32 multiply then an add (two roundings; torch in float64 has none).</summary>
    public static readonly Tolerance ScaleShiftTolerance = new(1e-6, 1e-6);

    /// <summary>Convolutions and linear layers: dot products of up to a few hundred terms.</summary>
    public static readonly Tolerance DotTolerance = new(1e-4, 1e-4);

    /// <summary>Gradients of convolutions / linear (sums of products), per unit of the gradient's scale.</summary>
    public static readonly Tolerance DotGradTolerance = new(1e-5, 1e-4);

    /// <summary>Batch norm eval: a handful of roundings.</summary>
    public static readonly Tolerance BatchNormTolerance = new(1e-5, 1e-5);

    private static int[] Dims(string text) => text.Split('x').Select(int.Parse).ToArray();

    private static float Parse(string s) => s switch
    {
        "inf" => float.PositiveInfinity,
        "-inf" => float.NegativeInfinity,
        _ => float.Parse(s, CultureInfo.InvariantCulture),
    };

    /// <summary>Normal data times <paramref name="scale"/> with exact specials every 7th element (boundaries and NaN).</summary>
    private static Tensor Spiky(int seed, int[] shape, float scale, params float[] specials)
    {
        float[] data = TestData.Normal(seed, TestData.Count(shape), scale);
        for (int i = 0, k = 0; specials.Length > 0 && i < data.Length; i += 7, k++)
        {
            data[i] = specials[k % specials.Length];
        }

        return Tensor.FromArray(data, shape);
    }

    /// <summary>Compares an output and the gradients of the given leaves with the oracle's reply.</summary>
    private void Check(string op, CnnIsa isa, string name, Tensor y, TorchResult r, Tolerance forward, Tolerance grad,
        params (string Name, Tensor Leaf)[] leaves)
    {
        OracleErrors.AssertClose(output, op, isa, name, y, r["output"], forward);
        foreach ((string input, Tensor leaf) in leaves)
        {
            TorchReference.AssertGrad(output, op, input, isa, name, leaf, r, grad);
        }
    }

    // ---------------------------------------------------------------------------------- ReLU6

    /// <summary>
    /// The contract for a NaN forward output: ReLU6's gradient passes g, like ReLU's. torch is not consistent
    /// there (1.13's scalar hardtanh_backward passes g, its vectorized loop gives 0), so torch's gradient is
    /// taken everywhere else and g where the output is NaN.
    /// </summary>
    private static OracleTensor NaNPassesGradient(OracleTensor torchGrad, Tensor y, Tensor go)
    {
        float[] yv = y.ToArray(), g = go.ToArray(), expected = (float[])torchGrad.Data.Clone();
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(yv[i]))
            {
                expected[i] = g[i];
            }
        }

        return torchGrad with { Data = expected };
    }

    public static TheoryData<string, CnnIsa> Relu6Rows => Isas.Cross(["7", "3x5x17", "2x8x9x9", "1x1000"]);

    [Theory]
    [MemberData(nameof(Relu6Rows))]
    public void Relu6_and_its_gradient_match_torch(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("relu6-" + name);
        using Tensor x = GradCheck.Leaf(Spiky(seed, Dims(name), 5f, 0f, 6f, -0f, float.NaN, 7f, -1f, float.PositiveInfinity));
        using Tensor y = Functional.Relu6(x);
        Assert.Equal("HardtanhBackward", y.GradFn!.Name);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(go, t => TorchOps.Activate(t["input"], Activation.Relu6), ("input", x));
        OracleErrors.AssertClose(output, "relu6", isa, name, y, r["output"], ExactTolerance);
        GradCheck.AssertGrad(output, "grad:relu6.input", isa, name, x, NaNPassesGradient(r["grad.input"], y, go), ExactTolerance);

        using Tensor inPlace = x.Detach().Clone();
        Assert.Same(inPlace, Functional.Relu6(inPlace, inPlace));
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    public static TheoryData<string, CnnIsa> FusedRows => Isas.Cross(["conv2d", "dwconv2d", "linear", "batch_norm", "add"]);

    /// <summary>ReLU6 fused into each op's epilogue (inputs scaled so that many outputs exceed 6), with gradients.</summary>
    [Theory]
    [MemberData(nameof(FusedRows))]
    public void Fused_relu6_matches_torch(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("fused-relu6-" + name);
        const Activation act = Activation.Relu6;
        switch (name)
        {
            case "conv2d":
            case "dwconv2d":
            {
                bool dw = name == "dwconv2d";
                int c = dw ? 16 : 8, groups = dw ? 16 : 1;
                using Tensor x = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed, 2L * c * 9 * 11, 3), 2, c, 9, 11));
                using Tensor w = GradCheck.Leaf(TestData.NormalTensor(seed + 1, 16, c / groups, 3, 3));
                using Tensor b = GradCheck.Leaf(TestData.NormalTensor(seed + 2, 16));
                var options = new Conv2dOptions { Padding = Padding2d.Symmetric(1), Stride = (1, 2), Groups = groups };
                using Tensor y = Functional.Conv2d(x, w, b, options, act);
                using Tensor go = GradCheck.GradOutput(seed, y.Shape);
                y.Backward(go);
                TorchResult r = TorchReference.Gradients(
                    go, t => TorchOps.Conv2d(t["input"], t["weight"], t["bias"], (1, 2), (1, 1, 1, 1), (1, 1), groups, act),
                    ("input", x), ("weight", w), ("bias", b));
                Check(name + "+relu6", isa, name, y, r, DotTolerance, DotGradTolerance, ("input", x), ("weight", w), ("bias", b));
                break;
            }

            case "linear":
            {
                using Tensor x = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed, 5 * 40, 2), 5, 40));
                using Tensor w = GradCheck.Leaf(TestData.NormalTensor(seed + 1, 12, 40));
                using Tensor b = GradCheck.Leaf(TestData.NormalTensor(seed + 2, 12));
                using Tensor y = Functional.Linear(x, w, b, act);
                using Tensor go = GradCheck.GradOutput(seed, y.Shape);
                y.Backward(go);
                TorchResult r = TorchReference.Gradients(
                    go, t => TorchOps.Linear(t["input"], t["weight"], t["bias"], act), ("input", x), ("weight", w), ("bias", b));
                Check("linear+relu6", isa, name, y, r, DotTolerance, DotGradTolerance, ("input", x), ("weight", w), ("bias", b));
                break;
            }

            case "batch_norm":
            {
                using Tensor x = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed, 2 * 6 * 5 * 7, 6), 2, 6, 5, 7));
                using Tensor mean = TestData.NormalTensor(seed + 1, 6);
                using Tensor var = TestData.UniformTensor(seed + 2, 0.5, 2.0, 6);
                using Tensor w = GradCheck.Leaf(TestData.UniformTensor(seed + 3, 0.5, 1.5, 6));
                using Tensor b = GradCheck.Leaf(TestData.NormalTensor(seed + 4, 6));
                using Tensor y = Functional.BatchNorm2d(x, mean, var, w, b, 1e-5f, act);
                using Tensor go = GradCheck.GradOutput(seed, y.Shape);
                y.Backward(go);
                TorchResult r = TorchReference.Gradients(
                    go, t => TorchOps.BatchNormEval(t["input"], Torch.From(mean), Torch.From(var), t["weight"], t["bias"], 1e-5f, act),
                    ("input", x), ("weight", w), ("bias", b));
                Check("batch_norm2d+relu6", isa, name, y, r, BatchNormTolerance, DotGradTolerance, ("input", x), ("weight", w), ("bias", b));
                break;
            }

            default:
            {
                using Tensor a = GradCheck.Leaf(Spiky(seed, [3, 7, 11], 4f, 0f, 6f, float.NaN));
                using Tensor b = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed + 1, 3 * 7 * 11, 4), 3, 7, 11));
                using Tensor y = Functional.Add(a, b, act);
                using Tensor go = GradCheck.GradOutput(seed, y.Shape);
                y.Backward(go);
                TorchResult r = TorchReference.Gradients(go, t => TorchOps.Add(t["a"], t["b"], act), ("a", a), ("b", b));
                OracleErrors.AssertClose(output, "add+relu6", isa, name, y, r["output"], ExactTolerance);
                GradCheck.AssertGrad(output, "grad:add+relu6.a", isa, name, a, NaNPassesGradient(r["grad.a"], y, go), ExactTolerance);
                GradCheck.AssertGrad(output, "grad:add+relu6.b", isa, name, b, NaNPassesGradient(r["grad.b"], y, go), ExactTolerance);
                break;
            }
        }
    }

    [Fact]
    public void ReLU6_module_has_no_parameters_and_applies_relu6()
    {
        using var m = new Nn.ReLU6();
        Assert.Empty(m.Parameters());
        using Tensor x = Tensor.FromArray([-3f, 0.5f, 6.5f, float.NaN], 4);
        using Tensor y = m.Forward(x);
        float[] v = y.ToArray();
        Assert.Equal([0f, 0.5f, 6f], v[..3]);
        Assert.True(float.IsNaN(v[3]));
    }

    // ---------------------------------------------------------------------------------- clamp

    public static TheoryData<string, CnnIsa> ClampRows => Isas.Cross(
        ["7:-0.5:0.75", "3x5x17:-inf:0.3", "2x8x9x9:0:inf", "1x100:1:1", "4x33:-1:1", "2x3x4x5:-inf:inf"]);

    [Theory]
    [MemberData(nameof(ClampRows))]
    public void Clamp_and_its_gradient_match_torch(string name, CnnIsa isa)
    {
        string[] parts = name.Split(':');
        float min = Parse(parts[1]), max = Parse(parts[2]);
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("clamp-" + name);
        float lo = float.IsFinite(min) ? min : -2f, hi = float.IsFinite(max) ? max : 2f;
        using Tensor x = GradCheck.Leaf(Spiky(seed, Dims(parts[0]), 1.5f, lo, hi, float.NaN, float.NegativeInfinity, float.PositiveInfinity));
        using Tensor y = Functional.Clamp(x, min, max);
        Assert.Equal("ClampBackward", y.GradFn!.Name);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(go, t => TorchOps.Clamp(t["input"], min, max), ("input", x));
        Check("clamp", isa, name, y, r, ExactTolerance, ExactTolerance, ("input", x));

        using Tensor inPlace = x.Detach().Clone();
        Assert.Same(inPlace, Functional.Clamp(inPlace, min, max, inPlace));
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Hardtanh_module_matches_torch_forward(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        using var m = new Nn.Hardtanh(-0.25f, 2f);
        Assert.Empty(m.Parameters());
        using Tensor x = Spiky(Seeds.Of("hardtanh"), [2, 3, 11], 2f, float.NaN, -0.25f, 2f);
        using Tensor y = m.Forward(x);
        OracleTensor expected = TorchReference.Output(() => TorchOps.Hardtanh(Torch.From(x), -0.25, 2));
        OracleErrors.AssertClose(output, "hardtanh", isa, "2x3x11", y, expected, ExactTolerance);
    }

    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    // ---------------------------------------------------------------------------------- concat / narrow

    /// <summary>"count:dim:grads": 1..4 inputs of [2, 3, 4, 5] with dimension dim resized per input; grads says which require grad.</summary>
    public static TheoryData<string, CnnIsa> ConcatRows => Isas.Cross(
    [
        "1:0:y", "2:0:yy", "3:1:yny", "4:2:yyyy", "2:3:ny", "3:-1:yyn", "4:-4:nyyy", "2:1:yy", "1:3:y", "3:2:nny",
    ]);

    [Theory]
    [MemberData(nameof(ConcatRows))]
    public void Concat_and_its_gradients_match_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split(':');
        int count = int.Parse(p[0], CultureInfo.InvariantCulture), dim = int.Parse(p[1], CultureInfo.InvariantCulture);
        int d = dim < 0 ? dim + 4 : dim, seed = Seeds.Of("cat-" + name);
        using IDisposable _ = Isas.Use(isa);
        var inputs = new List<Tensor>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                int[] shape = [2, 3, 4, 5];
                shape[d] = 1 + (i * 2 + d) % 4; // sizes 1..4 along dim, differing between inputs
                Tensor t = TestData.NormalTensor(seed + i, shape);
                t.RequiresGrad = p[2][i] == 'y';
                inputs.Add(t);
            }

            using Tensor y = Functional.Concat(inputs, dim);
            using Tensor go = GradCheck.GradOutput(seed, y.Shape);
            y.Backward(go);
            // torch differentiates every input (its gradient of one that CnnNative does not track is not compared).
            TorchResult r = TorchReference.Gradients(
                go, t => TorchOps.Cat([.. Enumerable.Range(0, count).Select(i => t["input." + i])], dim),
                [.. inputs.Select((t, i) => ("input." + i, (Tensor?)t))]);
            OracleErrors.AssertClose(output, "concat", isa, name, y, r["output"], ExactTolerance);
            for (int i = 0; i < count; i++)
            {
                if (inputs[i].RequiresGrad)
                {
                    TorchReference.AssertGrad(output, "concat", "input." + i, isa, name, inputs[i], r, ExactTolerance);
                }
                else
                {
                    Assert.Null(inputs[i].Grad);
                }
            }

            using Tensor into = Tensor.Full(float.NaN, y.Shape);
            using (Autograd.NoGrad())
            {
                Assert.Same(into, Functional.Concat(inputs, dim, into));
            }

            Assert.Equal(y.ToArray(), into.ToArray());
        }
        finally
        {
            inputs.ForEach(t => t.Dispose());
        }
    }

    /// <summary>"shape:dim:start:length".</summary>
    public static TheoryData<string, CnnIsa> NarrowRows => Isas.Cross(
        ["2x3x4x5:0:1:1", "2x3x4x5:1:0:2", "2x3x4x5:2:1:3", "2x3x4x5:3:4:1", "2x3x4x5:-1:-3:2", "17:0:3:11", "1x9x7:1:0:9"]);

    [Theory]
    [MemberData(nameof(NarrowRows))]
    public void Narrow_and_its_gradient_match_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split(':');
        int dim = int.Parse(p[1], CultureInfo.InvariantCulture), start = int.Parse(p[2], CultureInfo.InvariantCulture);
        int length = int.Parse(p[3], CultureInfo.InvariantCulture), seed = Seeds.Of("narrow-" + name);
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, Dims(p[0])));
        using Tensor y = Functional.Narrow(x, dim, start, length);
        Assert.False(y.SharesStorageWith(x));
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        // Twice: the second backward accumulates into the existing gradient.
        using Tensor y2 = Functional.Narrow(x, dim, start, length);
        y2.Backward(go);
        TorchResult r = TorchReference.Gradients(go, t => TorchOps.Narrow(t["input"], dim, start, length), ("input", x));
        OracleErrors.AssertClose(output, "narrow", isa, name, y, r["output"], ExactTolerance);
        OracleTensor once = r["grad.input"];
        OracleTensor twice = once with { Data = once.Data.Select(v => v * 2).ToArray() };
        GradCheck.AssertGrad(output, "grad:narrow.input", isa, name, x, twice, ExactTolerance);
    }

    // ---------------------------------------------------------------------------------- adaptive average pooling

    /// <summary>"NxCxHxW:OHxOW" (out larger than in included).</summary>
    public static TheoryData<string, CnnIsa> AdaptiveRows => Isas.Cross(
        ["2x3x7x9:3x4", "1x4x5x5:7x8", "1x2x1x1:2x3", "2x5x13x10:13x10", "1x3x6x6:1x1", "3x2x10x7:4x3", "1x1x8x8:5x1"]);

    [Theory]
    [MemberData(nameof(AdaptiveRows))]
    public void AdaptiveAvgPool2d_and_its_gradient_match_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split(':');
        int[] o = Dims(p[1]);
        int seed = Seeds.Of("adaptive-" + name);
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, Dims(p[0])));
        using Tensor y = Functional.AdaptiveAvgPool2d(x, (o[0], o[1]));
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(go, t => TorchOps.AdaptiveAvgPool2d(t["input"], (o[0], o[1])), ("input", x));
        Check("adaptive_avg_pool2d", isa, name, y, r, PoolTolerance, PoolTolerance, ("input", x));

        using var module = new Nn.AdaptiveAvgPool2d((o[0], o[1]));
        using Tensor viaModule = module.Forward(x.Detach());
        OracleErrors.AssertClose(output, "adaptive_avg_pool2d(module)", isa, name, viaModule, r["output"], PoolTolerance);
    }

    // ---------------------------------------------------------------------------------- scale / shift

    /// <summary>"shape:dim:scale:shift" with scale/shift "c" (per channel), "1" (scalar) or "-" (none).</summary>
    public static TheoryData<string, CnnIsa> ScaleShiftRows => Isas.Cross(
        ["2x3x5x7:1:c:c", "2x3x5x7:1:1:-", "2x3x5x7:1:-:c", "4x9:-1:c:-", "4x9:0:1:c", "1x16x3x3:1:c:1", "3x5x2:2:1:1", "1x1x33:1:c:c"]);

    [Theory]
    [MemberData(nameof(ScaleShiftRows))]
    public void ScaleShift_and_its_input_gradient_match_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split(':');
        int[] shape = Dims(p[0]);
        int dim = int.Parse(p[1], CultureInfo.InvariantCulture), seed = Seeds.Of("scale-shift-" + name);
        int channels = shape[dim < 0 ? dim + shape.Length : dim];
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, shape));
        using Tensor? scale = p[2] == "-" ? null : TestData.NormalTensor(seed + 1, p[2] == "c" ? channels : 1);
        using Tensor? shift = p[3] == "-" ? null : TestData.NormalTensor(seed + 2, p[3] == "c" ? channels : 1);
        using Tensor y = Functional.ScaleShift(x, dim, scale, shift);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(
            go, t => TorchOps.ScaleShift(t["input"], dim, TorchReference.FromOptional(scale), TorchReference.FromOptional(shift)), ("input", x));
        Check("scale_shift", isa, name, y, r, ScaleShiftTolerance, ScaleShiftTolerance, ("input", x));

        using Tensor inPlace = x.Detach().Clone();
        Assert.Same(inPlace, Functional.ScaleShift(inPlace, dim, scale, shift, inPlace));
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    [Fact]
    public void ScaleShift_rejects_a_scale_that_requires_grad()
    {
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(1, 2, 3));
        using Tensor s = GradCheck.Leaf(TestData.NormalTensor(2, 3));
        var e = Assert.Throws<NotSupportedException>(() => Functional.ScaleShift(x, 1, s, null));
        Assert.Contains("scale", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => Functional.ScaleShift(x, 1, null, TestData.NormalTensor(3, 2)));
        Assert.Contains("shift", bad.Message);
    }

    // ---------------------------------------------------------------------------------- conv1d

    /// <summary>"N:C:L:O:K:stride:padding:dilation:groups:bias:activation".</summary>
    public static TheoryData<string, CnnIsa> Conv1dRows => Isas.Cross(
    [
        "1:3:17:4:3:1:0:1:1:b:none",
        "2:4:20:6:5:2:2:1:1:b:relu",
        "2:6:31:6:3:1:1:2:3:n:none",
        "1:8:16:8:3:1:1:1:8:b:relu6",
        "3:5:9:7:1:1:0:1:1:b:none",
        "2:4:25:8:4:3:1:2:2:n:tanh",
        "1:16:11:32:3:2:0:1:16:b:none",
    ]);

    [Theory]
    [MemberData(nameof(Conv1dRows))]
    public void Conv1d_and_its_gradients_match_torch(string name, CnnIsa isa)
    {
        int[] v = name.Split(':')[..9].Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string[] p = name.Split(':');
        (int n, int c, int l, int oc, int k, int stride, int padding, int dilation, int groups) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
        Activation act = Enum.Parse<Activation>(p[10], ignoreCase: true);
        int seed = Seeds.Of("conv1d-" + name);
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed, (long)n * c * l, 2), n, c, l));
        using Tensor w = GradCheck.Leaf(TestData.NormalTensor(seed + 1, oc, c / groups, k));
        using Tensor? b = p[9] == "b" ? GradCheck.Leaf(TestData.NormalTensor(seed + 2, oc)) : null;
        var options = new Conv1dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups };
        using Tensor y = Functional.Conv1d(x, w, b, options, act);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(
            go, t => TorchOps.Conv1d(t["input"], t["weight"], t.Optional("bias"), stride, padding, dilation, groups, act),
            ("input", x), ("weight", w), ("bias", b));
        Tolerance fwd = act is Activation.Tanh ? new Tolerance(DotTolerance.Abs, 2e-6 + DotTolerance.Rel) : DotTolerance;
        Check("conv1d", isa, name, y, r, fwd, DotGradTolerance, ("input", x), ("weight", w));
        if (b is not null)
        {
            TorchReference.AssertGrad(output, "conv1d", "bias", isa, name, b, r, DotGradTolerance);
        }

        // The output overload, and a second backward through it that accumulates into the leaves' gradients.
        using Tensor into = Tensor.Full(float.NaN, y.Shape);
        Assert.Same(into, Functional.Conv1d(x, w, b, options, act, into));
        Assert.Equal(y.ToArray(), into.ToArray());
        float[] gx = x.Grad!.ToArray();
        into.Backward(go);
        float[] gx2 = x.Grad!.ToArray();
        for (int i = 0; i < gx.Length; i++)
        {
            Assert.Equal(2 * gx[i], gx2[i], 1e-4f);
        }
    }

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Conv1d_module_has_torch_parameters_and_matches_functional(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        using var m = new Nn.Conv1d(6, 4, 3, stride: 2, padding: 1, dilation: 1, groups: 2);
        Assert.Equal(["weight", "bias"], m.NamedParameters().Select(e => e.Name).ToArray());
        Assert.Equal([4, 3, 3], m.Weight.Shape);
        Assert.Equal([4], m.Bias!.Shape);
        float bound = 1f / MathF.Sqrt(3 * 3);
        Assert.All(m.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        using Tensor x = TestData.NormalTensor(5, 2, 6, 10);
        using Tensor y = m.Forward(x);
        Assert.Equal([2, 4, 5], y.Shape);
        OracleTensor expected = TorchReference.Output(() =>
            TorchOps.Conv1d(Torch.From(x), Torch.From(m.Weight), Torch.From(m.Bias), 2, 1, 1, 2, Activation.None));
        OracleErrors.AssertClose(output, "conv1d(module)", isa, "6-4-3-s2-p1-g2", y, expected, DotTolerance);
    }

    [Fact]
    public void Bad_inputs_throw_clear_argument_exceptions()
    {
        using Tensor x = TestData.NormalTensor(1, 2, 3, 4, 5);
        using Tensor other = TestData.NormalTensor(2, 2, 4, 4, 5);
        static void Has(Exception e, string text) => Assert.Contains(text, e.Message);

        Has(Assert.Throws<ArgumentException>(() => Functional.Clamp(x, 1f, 0f)), "min = 1 and max = 0");
        Has(Assert.Throws<ArgumentException>(() => Functional.Clamp(x, float.NaN, 0f)), "NaN");
        Has(Assert.Throws<ArgumentException>(() => Functional.Concat(Array.Empty<Tensor>(), 0)), "at least one");
        Has(Assert.Throws<ArgumentException>(() => Functional.Concat([x, other], 2)), "inputs[1] has shape [2, 4, 4, 5]");
        Has(Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Concat([x], 4)), "dim");
        using (Tensor y = Functional.Concat([x, other], 1))
        {
            Has(Assert.Throws<ArgumentException>(() => Functional.Concat([x, other], 1, x)), "shape");
            using Tensor view = y.Reshape(1, 14, 4, 5);
            Has(Assert.Throws<ArgumentException>(() => Functional.Concat([view], 0, y.Reshape(1, 14, 4, 5))), "shares storage");
        }

        Has(Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Narrow(x, 1, 3, 1)), "start");
        Has(Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Narrow(x, 1, 1, 3)), "length must be in [1, 2]");
        Has(Assert.Throws<ArgumentOutOfRangeException>(() => Functional.AdaptiveAvgPool2d(x, (0, 2))), "output");
        Has(Assert.Throws<ArgumentException>(() => Functional.AdaptiveAvgPool2d(TestData.NormalTensor(3, 4, 5), (1, 1))), "4-D");
        Has(Assert.Throws<ArgumentException>(() => Functional.ScaleShift(x, 1, TestData.NormalTensor(4, 2), null)), "expected [3]");
        Has(Assert.Throws<ArgumentException>(() => Functional.Conv1d(x, TestData.NormalTensor(5, 4, 3, 3), null, Conv1dOptions.Default)), "3-D");
        using Tensor x3 = TestData.NormalTensor(6, 2, 4, 9);
        Has(Assert.Throws<ArgumentException>(() => Functional.Conv1d(x3, TestData.NormalTensor(7, 6, 3, 3), null, Conv1dOptions.Default)), "weight");
        Has(Assert.Throws<ArgumentException>(() => Functional.Conv1d(x3, TestData.NormalTensor(8, 6, 4, 3), null, new Conv1dOptions { Stride = 0 })), "stride");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nn.Conv1d(4, 6, 3, groups: 4));
        Assert.Throws<ArgumentException>(() => new Nn.Hardtanh(2f, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nn.AdaptiveAvgPool2d(0));
    }
}
