using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>Conv2dPlan's argument checks, algorithm choice and disposal (the oracle sweep is in Oracle/Conv2dPlanTests).</summary>
public sealed class Conv2dPlanTests
{
    private static readonly Conv2dOptions Same = new() { Padding = Padding2d.Symmetric(1) };

    [Fact]
    public void Rejects_bad_arguments_naming_the_value()
    {
        using Tensor w = TestData.NormalTensor(1, 8, 4, 3, 3);
        using Tensor b = Tensor.Zeros(8);
        Assert.Throws<ArgumentNullException>(() => new Conv2dPlan(null!, w, b, Same));
        Assert.Throws<ArgumentNullException>(() => new Conv2dPlan([1, 4, 9, 9], w, b, null!));
        var e = Assert.Throws<ArgumentException>(() => new Conv2dPlan([1, 4, 9], w, b, Same));
        Assert.Equal("inputShape", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new Conv2dPlan([1, 5, 9, 9], w, b, Same));
        Assert.Contains("weight has shape [8, 4, 3, 3]", e.Message);
        using Tensor badBias = Tensor.Zeros(7);
        e = Assert.Throws<ArgumentException>(() => new Conv2dPlan([1, 4, 9, 9], w, badBias, Same));
        Assert.Contains("bias has shape [7]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Conv2dPlan([1, 4, 9, 9], w, b, new Conv2dOptions { Groups = 3 }));
        Assert.Contains("groups = 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Conv2dPlan([0, 4, 9, 9], w, b, Same));
        Assert.Contains("batch = 0", e.Message);

        using var plan = new Conv2dPlan([2, 4, 9, 9], w, b, Same, Activation.Relu);
        using Tensor x = TestData.NormalTensor(2, 3, 4, 9, 9);
        using Tensor narrow = TestData.NormalTensor(3, 1, 4, 9, 8);
        e = Assert.Throws<ArgumentException>(() => plan.Forward(narrow));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("[N, 4, 9, 9]", e.Message);
        using Tensor wrongOut = Tensor.Zeros(2, 8, 9, 9);
        e = Assert.Throws<ArgumentException>(() => plan.Forward(x, wrongOut));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("expected [3, 8, 9, 9]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Forward(0, new float[1], new float[1]));
        e = Assert.Throws<ArgumentException>(() => plan.Forward(1, new float[4 * 81 - 1], new float[8 * 81]));
        Assert.Equal("input", e.ParamName);
        float[] buffer = new float[12 * 81];
        e = Assert.Throws<ArgumentException>(() => plan.Forward(1, buffer.AsSpan(0, 4 * 81), buffer.AsSpan(4 * 81 - 1, 8 * 81)));
        Assert.Contains("overlaps", e.Message);
    }

    [Fact]
    public void Owns_its_weights_and_reports_its_algorithm()
    {
        using Tensor x = TestData.NormalTensor(4, 1, 32, 12, 12);
        using Tensor w = TestData.UniformTensor(5, -0.05f, 0.05f, 32, 32, 3, 3);
        using Tensor b = TestData.UniformTensor(6, -0.05f, 0.05f, 32);
        using Tensor expected = Functional.Conv2d(x, w, b, Same, Activation.Relu);
        using var plan = new Conv2dPlan([1, 32, 12, 12], w, b, Same, Activation.Relu);
        Assert.Equal(Cnn.Isa, plan.Isa);
        Assert.Equal(Cnn.Isa == CnnIsa.Reference ? CnnConv2dAlgorithm.Reference : CnnConv2dAlgorithm.Winograd, plan.Algorithm);
        Assert.Equal([3, 32, 12, 12], plan.OutputShape(3));
        w.CopyFrom(new float[w.Length]); // the plan keeps its own (transformed) copy
        using Tensor y = plan.Forward(x);
        Assert.Equal(expected.ToArray(), y.ToArray());

        using var pointwise = new Conv2dPlan([1, 32, 12, 12], TestData.NormalTensor(7, 16, 32, 1, 1), null, new Conv2dOptions());
        Assert.Equal(Cnn.Isa == CnnIsa.Reference ? CnnConv2dAlgorithm.Reference : CnnConv2dAlgorithm.Gemm, pointwise.Algorithm);
        Assert.Contains("Conv2dPlan(", pointwise.ToString());
    }

    [Fact]
    public void Threads_share_one_plan()
    {
        // The plan is read-only after create; each thread runs it on its own native context (scratch).
        using Tensor w = TestData.UniformTensor(10, -0.05f, 0.05f, 48, 40, 3, 3);
        using var plan = new Conv2dPlan([2, 40, 15, 15], w, null, Same, Activation.Relu6);
        float[] input = TestData.Normal(11, 2 * 40 * 15 * 15);
        float[] expected = new float[2 * 48 * 15 * 15];
        plan.Forward(2, input, expected);
        var results = new float[4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            results[i] = new float[expected.Length];
            for (int round = 0; round < 5; round++)
            {
                plan.Forward(2, input, results[i]);
            }
        });
        foreach (float[] result in results)
        {
            Assert.Equal(expected, result);
        }
    }

    [Fact]
    public void Disposal_is_idempotent_and_later_calls_throw()
    {
        using Tensor w = TestData.NormalTensor(8, 4, 2, 3, 3);
        using Tensor x = TestData.NormalTensor(9, 1, 2, 5, 5);
        var plan = new Conv2dPlan([1, 2, 5, 5], w, null, Same);
        plan.Dispose();
        plan.Dispose();
        Assert.Throws<ObjectDisposedException>(() => plan.Forward(x));
        Assert.Throws<ObjectDisposedException>(() => plan.Forward(1, new float[50], new float[100]));
    }
}
