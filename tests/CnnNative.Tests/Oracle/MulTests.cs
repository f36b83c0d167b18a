using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// <see cref="Functional.Mul(Tensor, Tensor)"/> against torch (<c>a * b</c> in float64 libtorch),
/// forward and both gradients, on every tested ISA; a square (one tensor as both operands) accumulates its two
/// gradients into one.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MulTests(ITestOutputHelper output)
{
    /// <summary>
    /// One float32 rounding of an exact product (float64 holds the product of two float32 exactly): relative 2^-24,
    /// 1.2e-7 with margin; the same for g * b and g * a, and for a square's 2 * (g * x) (the doubling is exact).
    /// </summary>
    private static readonly Tolerance ProductTolerance = new(0, 1.2e-7);

    private static int[] Dims(string text) => text.Split('x').Select(int.Parse).ToArray();

    /// <summary>Normal data with exact specials every 5th element (zeros, NaN, infinity).</summary>
    private static Tensor Spiky(int seed, int[] shape)
    {
        float[] data = TestData.Normal(seed, TestData.Count(shape), 3f);
        float[] specials = [0f, -0f, float.NaN, float.PositiveInfinity, 1f];
        for (int i = 0, k = 0; i < data.Length; i += 5, k++)
        {
            data[i] = specials[k % specials.Length];
        }

        return Tensor.FromArray(data, shape);
    }

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(["7", "3x5x17", "2x8x9x9", "1x1000"]);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Mul_and_its_gradients_match_torch(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("mul-" + name);
        using Tensor a = GradCheck.Leaf(Spiky(seed, Dims(name)));
        using Tensor b = GradCheck.Leaf(TestData.NormalTensor(seed + 1, Dims(name)));
        using Tensor y = Functional.Mul(a, b);
        Assert.Equal("MulBackward0", y.GradFn!.Name);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        TorchResult r = TorchReference.Gradients(go, t => t["a"] * t["b"], ("a", a), ("b", b));
        OracleErrors.AssertClose(output, "mul", isa, name, y, r["output"], ProductTolerance);
        TorchReference.AssertGrad(output, "mul", "a", isa, name, a, r, ProductTolerance);
        TorchReference.AssertGrad(output, "mul", "b", isa, name, b, r, ProductTolerance);

        using Tensor inPlace = a.Detach().Clone();
        Assert.Same(inPlace, Functional.Mul(inPlace, b.Detach(), inPlace));
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    [Theory]
    [MemberData(nameof(Isas.Rows), MemberType = typeof(Isas))]
    public void Square_accumulates_both_gradients(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("mul-square");
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(seed, 4, 33));
        using Tensor y = Functional.Mul(x, x);
        using Tensor go = GradCheck.GradOutput(seed, y.Shape);
        y.Backward(go);
        // Two separate torch leaves with x's values: their gradients are the two uses, summed below.
        TorchResult r = TorchReference.Gradients(go, t => t["a"] * t["b"], ("a", x), ("b", x));
        OracleErrors.AssertClose(output, "mul", isa, "square", y, r["output"], ProductTolerance);
        OracleTensor ga = r["grad.a"], gb = r["grad.b"];
        OracleTensor sum = ga with { Data = ga.Data.Zip(gb.Data, (p, q) => p + q).ToArray() };
        GradCheck.AssertGrad(output, "grad:mul.square", isa, "square", x, sum, ProductTolerance);
    }

    [Fact]
    public void Mul_rejects_different_shapes()
    {
        using Tensor a = Tensor.Zeros(2, 3);
        using Tensor b = Tensor.Zeros(3, 2);
        ArgumentException e = Assert.Throws<ArgumentException>(() => Functional.Mul(a, b));
        Assert.Equal("b", e.ParamName);
    }
}
