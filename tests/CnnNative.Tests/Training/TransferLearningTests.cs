using CnnNative.Nn;
using CnnNative.Optim;

namespace CnnNative.Tests.Training;

/// <summary>Fine-tuning: load a model, replace its head, freeze the rest, train only the head.</summary>
public sealed class TransferLearningTests
{
    private static Sequential Backbone() => new(
        new Conv2d(1, 4, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(4 * 4 * 4, 10));

    [Fact]
    public void Replaced_head_is_the_only_thing_that_trains()
    {
        Cnn.ManualSeed(7);
        using Sequential model = Backbone();
        using var trained = model.StateDict().ToDictionary(e => e.Key, e => e.Value.Clone()).AsDisposable();

        // A "pretrained" checkpoint loads strictly, then the 10-class head becomes a 3-class head.
        model.LoadStateDict(trained.Value);
        model[-1] = new Linear(4 * 4 * 4, 3);
        foreach (var (name, p) in model.NamedParameters())
            p.RequiresGrad = name.StartsWith("4.", StringComparison.Ordinal);

        Assert.Equal(new[] { 3, 64 }, model.StateDict().Single(e => e.Key == "4.weight").Value.Shape);
        float[] convBefore = model.StateDict().Single(e => e.Key == "0.weight").Value.ToArray();
        float[] headBefore = model.StateDict().Single(e => e.Key == "4.weight").Value.ToArray();

        using var optimizer = new SGD(model.Parameters().Where(p => p.RequiresGrad), lr: 0.1f);
        using Tensor x = Tensor.Randn(3, 5, 1, 8, 8);
        using Tensor logits = model.Forward(x);
        Assert.Equal(new[] { 5, 3 }, logits.Shape);
        using Tensor loss = Functional.CrossEntropy(logits, new[] { 0, 1, 2, 1, 0 });
        loss.Backward();

        foreach (var (name, p) in model.NamedParameters())
        {
            if (name.StartsWith("4.", StringComparison.Ordinal)) Assert.NotNull(p.Grad);
            else Assert.Null(p.Grad);
        }

        optimizer.Step();
        Assert.Equal(convBefore, model.StateDict().Single(e => e.Key == "0.weight").Value.ToArray());
        Assert.NotEqual(headBefore, model.StateDict().Single(e => e.Key == "4.weight").Value.ToArray());
    }

    [Fact]
    public void ReplaceChild_names_the_missing_child()
    {
        using Sequential model = Backbone();
        var e = Assert.Throws<ArgumentException>(() => model.ReplaceChild("fc", new Linear(2, 2)));
        Assert.Contains("'fc'", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model[5] = new ReLU());
    }
}

internal static class DisposableDictionary
{
    public static Owner AsDisposable(this Dictionary<string, Tensor> value) => new(value);

    public sealed class Owner(Dictionary<string, Tensor> value) : IDisposable
    {
        public Dictionary<string, Tensor> Value { get; } = value;

        public void Dispose()
        {
            foreach (Tensor t in Value.Values) t.Dispose();
        }
    }
}
