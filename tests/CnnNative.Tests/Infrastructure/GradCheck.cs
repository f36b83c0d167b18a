using System.Globalization;
using CnnNative.Interop;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// Gradient comparisons against the oracle. Summary entries are named "grad:&lt;op&gt;.&lt;input&gt;"
/// (e.g. "grad:conv2d.weight") in artifacts/oracle-errors.txt.
/// </summary>
/// <remarks>
/// Gradients are sums of many products (a conv weight gradient sums N*OH*OW terms), so their size and
/// cancellation vary from case to case: the tolerances here are element-wise abs + rel * |expected|
/// where abs is stated per unit of the gradient's scale, scale = max(1, max |expected|) of that
/// tensor (see <see cref="Scaled"/>). The summary shows the scaled tolerance actually applied.
/// </remarks>
public static class GradCheck
{
    /// <summary>Marks a tensor as a leaf that requires grad and returns it.</summary>
    public static Tensor Leaf(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>The tolerance with its abs part multiplied by max(1, max |expected|).</summary>
    public static Tolerance Scaled(Tolerance perUnit, OracleTensor expected)
    {
        double scale = 1;
        foreach (float v in expected.Data)
        {
            if (float.IsFinite(v))
            {
                scale = Math.Max(scale, Math.Abs(v));
            }
        }

        return new Tolerance(perUnit.Abs * scale, perUnit.Rel);
    }

    /// <summary>Asserts that <paramref name="leaf"/>.Grad matches <paramref name="expected"/>; recorded as <paramref name="entry"/>.</summary>
    public static void AssertGrad(
        ITestOutputHelper output, string entry, CnnIsa isa, string caseName, Tensor leaf, OracleTensor expected, Tolerance perUnit)
    {
        Tensor? grad = leaf.Grad;
        Assert.True(grad != null, $"{entry} {caseName} [{isa}]: Grad is null after Backward (torch has a gradient)");
        OracleErrors.AssertClose(output, entry, isa, caseName, grad!.ToArray(), grad.Shape, expected, Scaled(perUnit, expected));
    }

    /// <summary>A deterministic upstream gradient for an output shape (normal values).</summary>
    public static Tensor GradOutput(int seed, int[] shape) => TestData.NormalTensor(seed ^ 0x5EED, shape);

    /// <summary>Invariant formatting for case names.</summary>
    public static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
