using System.Collections.Concurrent;
using System.Globalization;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>Functional.CrossEntropy (mean, label smoothing) and MseLoss: loss and gradients against torch.</summary>
[Collection(TorchCollection.Name)]
public sealed class LossGradTests(ITestOutputHelper output)
{
    /// <summary>Loss value: log-sum-exp per row and a mean over the batch.</summary>
    public static readonly Tolerance LossTolerance = new(1e-6, 1e-5);

    /// <summary>Cross-entropy gradient: (softmax - target) / N.</summary>
    public static readonly Tolerance CrossEntropyGradTolerance = new(1e-7, 1e-5);

    /// <summary>MSE gradient: 2 (p - t) / count.</summary>
    public static readonly Tolerance MseGradTolerance = new(1e-7, 1e-6);

    private static readonly ConcurrentDictionary<string, TorchResult> s_expected = new();

    /// <summary>name: batch x classes - smoothing - logit scale.</summary>
    public static TheoryData<string, CnnIsa> CrossEntropyRows => Isas.Cross(
    [
        "1x2-0-1", "4x10-0-1", "4x10-0.1-1", "33x10-0.2-3", "7x1000-0-2", "7x1000-0.05-2", "3x17-0-50", "3x17-0.1-50",
        "64x10-0-1", "2x3-0.999-1", "5x1-0-1", "1x1-0.3-1",
    ]);

    [Theory]
    [MemberData(nameof(CrossEntropyRows))]
    public void CrossEntropy_loss_and_gradient_match_torch(string name, CnnIsa isa)
    {
        string[] p = name.Split('-');
        int[] shape = p[0].Split('x').Select(int.Parse).ToArray();
        float smoothing = float.Parse(p[1], CultureInfo.InvariantCulture);
        double scale = double.Parse(p[2], CultureInfo.InvariantCulture);
        int seed = Seeds.Of(name);
        var rng = new Random(seed);
        int[] labels = Enumerable.Range(0, shape[0]).Select(_ => rng.Next(shape[1])).ToArray();

        using IDisposable _ = Isas.Use(isa);
        using Tensor logits = GradCheck.Leaf(Tensor.FromArray(TestData.Normal(seed, TestData.Count(shape), scale), shape));
        using Tensor loss = Functional.CrossEntropy(logits, labels, smoothing);
        Assert.Equal(new[] { 1 }, loss.Shape);
        TorchResult expected = s_expected.GetOrAdd("ce-" + name, _ =>
            TorchReference.Gradients(null, t => TorchOps.CrossEntropy(t["logits"], labels, smoothing), ("logits", logits)));
        OracleErrors.AssertClose(output, "cross_entropy", isa, name, loss, expected["output"], LossTolerance);
        Assert.Equal(loss.ToArray()[0], loss.Item());
        loss.Backward();
        TorchReference.AssertGrad(output, "cross_entropy", "logits", isa, name, logits, expected, CrossEntropyGradTolerance);
    }

    /// <summary>Cross-entropy after a log-softmax-free network head: Linear -> CrossEntropy, gradient into the layer.</summary>
    [Theory]
    [MemberData(nameof(IsaRows))]
    public void CrossEntropy_backpropagates_into_linear(CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        const int n = 6, inF = 20, classes = 7;
        int[] labels = [0, 6, 3, 3, 1, 5];
        using Tensor x = GradCheck.Leaf(TestData.NormalTensor(11, n, inF));
        using Tensor w = GradCheck.Leaf(TestData.UniformTensor(12, -0.3, 0.3, classes, inF));
        using Tensor b = GradCheck.Leaf(TestData.UniformTensor(13, -0.3, 0.3, classes));
        using Tensor logits = Functional.Linear(x, w, b);
        using Tensor loss = Functional.CrossEntropy(logits, labels, 0.1f);

        // The whole chain in torch (float64 logits, not CnnNative's float32 ones).
        TorchResult torch = TorchReference.Gradients(
            null, t => TorchOps.CrossEntropy(TorchOps.Linear(t["input"], t["weight"], t["bias"], Activation.None), labels, 0.1f),
            ("input", x), ("weight", w), ("bias", b));
        loss.Backward();
        GradCheck.AssertGrad(output, "grad:cross_entropy.linear_input", isa, "chain", x, torch["grad.input"], LayerGradTests.LinearGradTolerance);
        GradCheck.AssertGrad(output, "grad:cross_entropy.linear_weight", isa, "chain", w, torch["grad.weight"], LayerGradTests.LinearGradTolerance);
        GradCheck.AssertGrad(output, "grad:cross_entropy.linear_bias", isa, "chain", b, torch["grad.bias"], LayerGradTests.LinearGradTolerance);
        Assert.Null(logits.Grad); // not a leaf: torch keeps no .grad for intermediates either
    }

    public static TheoryData<CnnIsa> IsaRows => Isas.Rows();

    public static TheoryData<string, CnnIsa> MseRows => Isas.Cross(["1", "7", "8", "4x10", "2x3x5x7", "4099", "64x1"]);

    [Theory]
    [MemberData(nameof(MseRows))]
    public void MseLoss_and_gradients_match_torch(string name, CnnIsa isa)
    {
        int[] shape = name.Split('x').Select(int.Parse).ToArray();
        int seed = Seeds.Of(name);
        using IDisposable _ = Isas.Use(isa);
        using Tensor prediction = GradCheck.Leaf(TestData.NormalTensor(seed, shape));
        using Tensor target = GradCheck.Leaf(TestData.NormalTensor(seed + 1, shape));
        using Tensor loss = Functional.MseLoss(prediction, target);
        Assert.Equal(new[] { 1 }, loss.Shape);
        TorchResult expected = s_expected.GetOrAdd("mse-" + name, _ => TorchReference.Gradients(
            null, t => TorchOps.MseLoss(t["prediction"], t["target"]), ("prediction", prediction), ("target", target)));
        OracleErrors.AssertClose(output, "mse_loss", isa, name, loss, expected["output"], LossTolerance);
        loss.Backward();
        TorchReference.AssertGrad(output, "mse_loss", "prediction", isa, name, prediction, expected, MseGradTolerance);
        TorchReference.AssertGrad(output, "mse_loss", "target", isa, name, target, expected, MseGradTolerance);
    }
}
