using System.Collections.Concurrent;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Oracle;

namespace CnnNative.Tests.Training;

/// <summary>
/// Gradients of MaxPool2d (first maximum of the window wins, incl. ties), AvgPool2d
/// (count_include_pad, ceil_mode, divisor_override), LpPool2d and GlobalAvgPool2d against torch
/// autograd, over the forward test's sweep (PoolTests.Cases) plus tie-heavy max cases.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PoolGradTests(ITestOutputHelper output)
{
    /// <summary>Max pooling routes gradients: sums of a few upstream values per input (overlapping windows).</summary>
    public static readonly Tolerance MaxGradTolerance = new(1e-6, 1e-6);

    /// <summary>Average pooling: sums of g / divisor over the windows covering an input.</summary>
    public static readonly Tolerance AvgGradTolerance = new(1e-6, 1e-5);

    /// <summary>L^p: g * x^(p-1) * out^(1-p) (pow of float32 values), summed over windows.</summary>
    public static readonly Tolerance LpGradTolerance = new(2e-5, 1e-4);

    /// <summary>Global average: g / (H*W).</summary>
    public static readonly Tolerance GlobalGradTolerance = new(1e-7, 1e-6);

    private static readonly ConcurrentDictionary<string, TorchResult> s_expected = new();

    /// <summary>Max cases whose inputs are quantised to a few values so that windows have ties.</summary>
    public static IReadOnlyList<PoolTests.PoolCase> TieCases { get; } =
    [
        new("max", 1, 3, 6, 6, 2, 2, 2, 2),
        new("max", 2, 5, 7, 9, 3, 3, 1, 1, 1, 1),
        new("max", 1, 17, 8, 8, 3, 3, 2, 2, 1, 1, Ceil: true),
        new("max", 1, 4, 9, 7, 2, 3, 1, 2, 0, 1, 2, 1),
        new("max", 2, 8, 5, 5, 5, 5, 1, 1, 2, 2),
    ];

    /// <summary>Max cases with NaNs in the input: NaN is the maximum of its window and gets the gradient (as torch).</summary>
    public static IReadOnlyList<PoolTests.PoolCase> NaNCases { get; } =
    [
        new("max", 1, 3, 6, 6, 2, 2, 2, 2),
        new("max", 2, 9, 7, 7, 3, 3, 1, 1, 1, 1),
    ];

    private static readonly Dictionary<string, (PoolTests.PoolCase Case, bool Ties)> s_byName =
        PoolTests.Cases.Select(c => (Name: c.Name, Case: c, Ties: false))
            .Concat(TieCases.Select(c => (Name: "ties-" + c.Name, Case: c, Ties: true)))
            .Concat(NaNCases.Select(c => (Name: "nan-" + c.Name, Case: c, Ties: false)))
            .DistinctBy(e => e.Name)
            .ToDictionary(e => e.Name, e => (e.Case, e.Ties));

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(s_byName.Keys);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Pool2d_gradients_match_torch(string name, CnnIsa isa)
    {
        (PoolTests.PoolCase c, bool ties) = s_byName[name];
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of(name);
        bool positive = c.Kind == "lp" && c.P != 1f && c.P != 2f;
        float[] data = positive
            ? TestData.Uniform(seed, TestData.Count(c.N, c.C, c.H, c.W), 0.05, 2.0)
            : TestData.Normal(seed, TestData.Count(c.N, c.C, c.H, c.W));
        if (ties)
        {
            // Values in {-1, -0.5, 0, 0.5, 1}: most windows have several maxima.
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = MathF.Round(Math.Clamp(data[i], -1f, 1f) * 2f) / 2f;
            }
        }

        if (name.StartsWith("nan-", StringComparison.Ordinal))
        {
            for (int i = 3; i < data.Length; i += 11)
            {
                data[i] = float.NaN;
            }
        }

        using Tensor x = GradCheck.Leaf(Tensor.FromArray(data, c.N, c.C, c.H, c.W));
        Pool2dOptions options = c.Options;
        using Tensor y = c.Kind switch
        {
            "max" => Functional.MaxPool2d(x, options),
            "avg" => Functional.AvgPool2d(x, options),
            _ => Functional.LpPool2d(x, options),
        };
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);

        TorchResult expected = s_expected.GetOrAdd(name, _ => TorchReference.Gradients(go, t => c.Reference(t["input"]), ("input", x)));

        y.Backward(go);
        Tolerance tolerance = c.Kind switch { "max" => MaxGradTolerance, "avg" => AvgGradTolerance, _ => LpGradTolerance };
        TorchReference.AssertGrad(output, c.Kind + "_pool2d", "input", isa, name, x, expected, tolerance);
    }

    public static TheoryData<string, CnnIsa> GlobalRows => Isas.Cross(["1x3x5x5", "2x17x7x9", "1x64x1x1", "3x8x13x1", "2x33x16x16"]);

    [Theory]
    [MemberData(nameof(GlobalRows))]
    public void GlobalAvgPool2d_gradient_matches_torch(string shapeText, CnnIsa isa)
    {
        int[] shape = shapeText.Split('x').Select(int.Parse).ToArray();
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(Seeds.Of(shapeText), shape));
        using Tensor y = Functional.GlobalAvgPool2d(x);
        using Tensor go = GradCheck.GradOutput(Seeds.Of(shapeText), y.Shape);
        TorchResult expected = s_expected.GetOrAdd("global-" + shapeText, _ =>
            TorchReference.Gradients(go, t => TorchOps.AdaptiveAvgPool2d(t["input"], (1, 1)), ("input", x)));
        y.Backward(go);
        TorchReference.AssertGrad(output, "global_avg_pool2d", "input", isa, shapeText, x, expected, GlobalGradTolerance);
    }
}
