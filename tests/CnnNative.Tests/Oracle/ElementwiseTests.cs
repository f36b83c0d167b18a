using System.Collections.Concurrent;
using System.Globalization;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>BatchNorm2d, activations, Linear, Softmax/LogSoftmax and Add against torch.</summary>
[Collection(TorchCollection.Name)]
public sealed class ElementwiseTests(ITestOutputHelper output)
{
    /// <summary>(x - mean) * rsqrt(var + eps) * gamma + beta: a handful of roundings.</summary>
    public static readonly Tolerance BatchNormTolerance = new(1e-5, 1e-5);

    /// <summary>ReLU and Add without activation are exact in float32 (at most the final rounding).</summary>
    public static readonly Tolerance ExactTolerance = new(0, 1.2e-7);

    /// <summary>Sigmoid / tanh: ~16 ulp (observed: ~2 ulp) of a vectorised exp and a division.</summary>
    public static readonly Tolerance TranscendentalTolerance = new(1e-7, 2e-6);

    /// <summary>Dot products of up to 1000 terms.</summary>
    public static readonly Tolerance LinearTolerance = new(1e-4, 1e-4);

    /// <summary>Softmax: exp, a float sum and a division (probabilities, so abs matters near 0).</summary>
    public static readonly Tolerance SoftmaxTolerance = new(1e-7, 2e-6);

    /// <summary>Log-softmax: x - max - log(sum); values up to ~|100|.</summary>
    public static readonly Tolerance LogSoftmaxTolerance = new(1e-6, 2e-6);

    private static readonly ConcurrentDictionary<string, OracleTensor> s_expected = new();

    private static Tolerance ActivationTolerance(Activation a, Tolerance linear) =>
        a is Activation.Sigmoid or Activation.Tanh
            ? new Tolerance(Math.Max(linear.Abs, TranscendentalTolerance.Abs), Math.Max(linear.Rel, TranscendentalTolerance.Rel))
            : linear;

    private static Tensor NaNs(int[] shape) => Tensor.FromArray(Enumerable.Repeat(float.NaN, (int)TestData.Count(shape)).ToArray(), shape);

    // ---------------------------------------------------------------------------------- batch norm

    public static TheoryData<string, CnnIsa> BatchNormRows => Isas.Cross(
    [
        "1x3x5x5-affine-none-0.00001",
        "2x17x7x9-affine-relu-0.00001",
        "3x8x1x1-noweight-none-0.001",
        "1x64x4x4-nobias-sigmoid-0.00001",
        "2x5x3x11-none-tanh-0.1",
        "1x33x9x9-affine-relu-0",
    ]);

    [Theory]
    [MemberData(nameof(BatchNormRows))]
    public void BatchNorm2d_eval_matches_torch(string name, CnnIsa isa)
    {
        (int[] shape, string affine, Activation act, float eps) = CaseNames.BatchNorm(name);
        int c = shape[1], seed = Seeds.Of(name);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(seed, shape);
        using Tensor mean = Tensor.FromArray(TestData.Normal(seed + 1, c, 0.5), c);
        using Tensor var = TestData.UniformTensor(seed + 2, 0.1, 2.0, c);
        using Tensor? weight = affine is "affine" or "nobias" ? TestData.UniformTensor(seed + 3, 0.5, 1.5, c) : null;
        using Tensor? bias = affine is "affine" or "noweight" ? Tensor.FromArray(TestData.Normal(seed + 4, c, 0.3), c) : null;

        using Tensor y = Functional.BatchNorm2d(x, mean, var, weight, bias, eps, act);
        OracleTensor expected = s_expected.GetOrAdd("bn-" + name, _ => TorchReference.Output(() => TorchOps.BatchNormEval(
            Torch.From(x), Torch.From(mean), Torch.From(var), TorchReference.FromOptional(weight), TorchReference.FromOptional(bias), eps, act)));
        OracleErrors.AssertClose(output, "batch_norm2d", isa, name, y, expected, ActivationTolerance(act, BatchNormTolerance));

        using Tensor into = NaNs(y.Shape);
        Assert.Same(into, Functional.BatchNorm2d(x, mean, var, weight, bias, eps, act, into));
        Assert.Equal(y.ToArray(), into.ToArray());

        // In place is allowed by the native contract.
        using Tensor inPlace = x.Clone();
        Functional.BatchNorm2d(inPlace, mean, var, weight, bias, eps, act, inPlace);
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    // ---------------------------------------------------------------------------------- activations

    public static TheoryData<string, CnnIsa> ActivationRows => CaseNames.ActivationRows();

    [Theory]
    [MemberData(nameof(ActivationRows))]
    public void Activation_matches_torch(string name, CnnIsa isa)
    {
        (string op, string shapeText) = CaseNames.SplitFirstDash(name);
        int[] shape = CaseNames.Shape(shapeText);
        using IDisposable _ = Isas.Use(isa);

        // Normal values x4, with saturating and special values at the front.
        float[] data = TestData.Normal(Seeds.Of(name), TestData.Count(shape), 4.0);
        float[] special = [0f, -0f, 1e-30f, -1e-30f, 30f, -30f, 88f, -88f, 100f, -104f, 1e6f, -1e6f, float.PositiveInfinity, float.NegativeInfinity, 0.5f, -0.5f];
        Array.Copy(special, data, Math.Min(special.Length, data.Length));
        using Tensor x = Tensor.FromArray(data, shape);

        Tensor Apply(Tensor? into = null) => (op, into) switch
        {
            ("relu", null) => Functional.Relu(x),
            ("relu", _) => Functional.Relu(x, into),
            ("sigmoid", null) => Functional.Sigmoid(x),
            ("sigmoid", _) => Functional.Sigmoid(x, into),
            ("tanh", null) => Functional.Tanh(x),
            _ => Functional.Tanh(x, into!),
        };

        using Tensor y = Apply();
        OracleTensor expected = s_expected.GetOrAdd("act-" + name, _ =>
            TorchReference.Output(() => TorchOps.Activate(Torch.From(x), Enum.Parse<Activation>(op, ignoreCase: true))));
        OracleErrors.AssertClose(output, op, isa, name, y, expected, op == "relu" ? ExactTolerance : TranscendentalTolerance);

        using Tensor into = NaNs(shape);
        Assert.Same(into, Apply(into));
        Assert.Equal(y.ToArray(), into.ToArray());

        // In place (output aliasing input) is allowed by the native contract.
        using Tensor inPlace = Tensor.FromArray(data, shape);
        Assert.Equal(y.ToArray(), Functional.Activate(inPlace, Enum.Parse<Activation>(op, ignoreCase: true), inPlace).ToArray());
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
        "2x3-17-10-bias-tanh",
        "3x1x2-33-5-nobias-none",
    ]);

    [Theory]
    [MemberData(nameof(LinearRows))]
    public void Linear_matches_torch(string name, CnnIsa isa)
    {
        (int[] lead, int inF, int outF, bool hasBias, Activation act) = CaseNames.Linear(name);
        int seed = Seeds.Of(name);
        float bound = 1f / MathF.Sqrt(inF);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(seed, [.. lead, inF]);
        using Tensor w = TestData.UniformTensor(seed + 1, -bound, bound, outF, inF);
        using Tensor? b = hasBias ? TestData.UniformTensor(seed + 2, -bound, bound, outF) : null;
        using Tensor y = Functional.Linear(x, w, b, act);
        OracleTensor expected = s_expected.GetOrAdd("linear-" + name, _ =>
            TorchReference.Output(() => TorchOps.Linear(Torch.From(x), Torch.From(w), TorchReference.FromOptional(b), act)));
        OracleErrors.AssertClose(output, "linear", isa, name, y, expected, ActivationTolerance(act, LinearTolerance));

        using Tensor into = NaNs(y.Shape);
        Assert.Same(into, Functional.Linear(x, w, b, act, into));
        Assert.Equal(y.ToArray(), into.ToArray());
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
                    $"{op}-2x3x5x7-d0-s1", $"{op}-2x3x5x7-d1-s1", $"{op}-2x3x5x7-d2-s1", $"{op}-2x3x5x7-d3-s1", $"{op}-2x3x5x7-d-3-s1",
                    $"{op}-1x1000-d1-s3", $"{op}-3x17-d1-s50", $"{op}-6-d0-s1", $"{op}-2x1x4x4-d1-s1",
                ]);
            }

            return Isas.Cross(names);
        }
    }

    [Theory]
    [MemberData(nameof(SoftmaxRows))]
    public void Softmax_matches_torch(string name, CnnIsa isa)
    {
        // name: op-shape-d<dim>-s<scale>; dim may be negative.
        (string op, int[] shape, int dim, double scale) = CaseNames.Softmax(name);

        using IDisposable _ = Isas.Use(isa);
        using Tensor x = Tensor.FromArray(TestData.Normal(Seeds.Of(name), TestData.Count(shape), scale), shape);
        bool log = op == "log_softmax";
        using Tensor y = log ? Functional.LogSoftmax(x, dim) : Functional.Softmax(x, dim);
        OracleTensor expected = s_expected.GetOrAdd("sm-" + name, _ =>
            TorchReference.Output(() => log ? TorchOps.LogSoftmax(Torch.From(x), dim) : TorchOps.Softmax(Torch.From(x), dim)));
        OracleErrors.AssertClose(output, op, isa, name, y, expected, log ? LogSoftmaxTolerance : SoftmaxTolerance);

        using Tensor into = NaNs(shape);
        Assert.Same(into, log ? Functional.LogSoftmax(x, dim, into) : Functional.Softmax(x, dim, into));
        Assert.Equal(y.ToArray(), into.ToArray());

        // In place is allowed by the native contract.
        using Tensor inPlace = x.Clone();
        Tensor returned = log ? Functional.LogSoftmax(inPlace, dim, inPlace) : Functional.Softmax(inPlace, dim, inPlace);
        Assert.Same(inPlace, returned);
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    // ---------------------------------------------------------------------------------- add

    public static TheoryData<string, CnnIsa> AddRows => CaseNames.AddRows();

    [Theory]
    [MemberData(nameof(AddRows))]
    public void Add_matches_torch(string name, CnnIsa isa)
    {
        (string shapeText, string actText) = CaseNames.SplitFirstDash(name);
        int[] shape = CaseNames.Shape(shapeText);
        var act = Enum.Parse<Activation>(actText, ignoreCase: true);
        int seed = Seeds.Of(name);

        using IDisposable _ = Isas.Use(isa);
        using Tensor a = TestData.NormalTensor(seed, shape);
        using Tensor b = TestData.NormalTensor(seed + 1, shape);
        using Tensor y = Functional.Add(a, b, act);
        OracleTensor expected = s_expected.GetOrAdd("add-" + name, _ =>
            TorchReference.Output(() => TorchOps.Add(Torch.From(a), Torch.From(b), act)));
        OracleErrors.AssertClose(output, "add", isa, name, y, expected, ActivationTolerance(act, ExactTolerance));

        using Tensor into = NaNs(shape);
        Assert.Same(into, Functional.Add(a, b, act, into));
        Assert.Equal(y.ToArray(), into.ToArray());

        // In place (output aliasing a) is allowed by the native contract.
        using Tensor a2 = Tensor.FromArray(a.ToArray(), shape);
        Functional.Add(a2, b, act, a2);
        Assert.Equal(y.ToArray(), a2.ToArray());
    }
}
