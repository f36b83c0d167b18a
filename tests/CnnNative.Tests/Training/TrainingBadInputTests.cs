using CnnNative.Nn;
using CnnNative.Optim;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>Misuse of the training APIs: clear exceptions naming the bad value, nothing half-done.</summary>
public sealed class TrainingBadInputTests(ITestOutputHelper output)
{
    private static T Throws<T>(Action action, params string[] mentions) where T : Exception
    {
        T e = Assert.ThrowsAny<T>(action);
        foreach (string m in mentions)
        {
            Assert.True(e.Message.Contains(m, StringComparison.OrdinalIgnoreCase), $"the message does not mention '{m}': {e.Message}");
        }

        return e;
    }

    [Fact]
    public void Backward_on_a_non_scalar_without_gradient_is_refused()
    {
        using Tensor x = TestData.NormalTensor(1, 2, 3);
        x.RequiresGrad = true;
        using Tensor y = Functional.Relu(x);
        var e = Throws<ArgumentException>(() => y.Backward());
        output.WriteLine(e.Message);
        Assert.Null(x.Grad);

        // A gradient of the wrong shape is refused too.
        using Tensor wrong = Tensor.Zeros(3, 2);
        output.WriteLine(Throws<ArgumentException>(() => y.Backward(wrong)).Message);

        // The graph is intact after the refusals: a correct call works.
        using Tensor ones = Tensor.Full(1f, 2, 3);
        y.Backward(ones);
        Assert.NotNull(x.Grad);
    }

    [Fact]
    public void Backward_twice_on_a_freed_graph_and_without_grad_is_an_InvalidOperationException()
    {
        using Tensor x = TestData.NormalTensor(2, 4, 5);
        x.RequiresGrad = true;
        using Tensor y = Functional.Sigmoid(x);
        using Tensor loss = Functional.MseLoss(y, Tensor.Zeros(4, 5));
        loss.Backward();
        float[] first = x.Grad!.ToArray();
        var e = Throws<InvalidOperationException>(() => loss.Backward());
        output.WriteLine(e.Message);
        Assert.Equal(first, x.Grad!.ToArray()); // unchanged by the refused call

        using Tensor plain = TestData.NormalTensor(3, 1);
        output.WriteLine(Throws<InvalidOperationException>(() => plain.Backward()).Message);

        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsEnabled);
            using Tensor z = Functional.Tanh(x);
            Assert.Null(z.GradFn);
            Assert.False(z.RequiresGrad);
            using Tensor s = Functional.MseLoss(z, Tensor.Zeros(4, 5));
            Throws<InvalidOperationException>(() => s.Backward());
        }

        Assert.True(Autograd.IsEnabled);
    }

    [Fact]
    public void RequiresGrad_on_a_non_leaf_and_a_gradient_of_the_wrong_shape_are_refused()
    {
        using Tensor x = TestData.NormalTensor(4, 3, 3);
        x.RequiresGrad = true;
        using Tensor y = Functional.Relu(x);
        Assert.False(y.IsLeaf);
        Assert.True(y.RequiresGrad);
        Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Throws<ArgumentException>(() => x.Grad = Tensor.Zeros(9));
        using Tensor d = y.Detach();
        Assert.True(d.IsLeaf);
        Assert.False(d.RequiresGrad);
    }

    [Fact]
    public void CrossEntropy_bad_labels_name_the_index_and_value()
    {
        using Tensor logits = TestData.NormalTensor(5, 6, 5);
        logits.RequiresGrad = true;
        var e = Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 17, 4, 0]), "3", "17");
        output.WriteLine(e.Message);
        e = Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 3, -2, 0]), "4", "-2");
        output.WriteLine(e.Message);
        e = Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 3, 4, 5]), "5");
        output.WriteLine(e.Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2])).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 3, 4, 0], -0.1f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 3, 4, 0], 1.5f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.CrossEntropy(logits, [0, 1, 2, 3, 4, 0], float.NaN)).Message);
        using Tensor rank3 = Tensor.Zeros(2, 3, 4);
        output.WriteLine(Throws<ArgumentException>(() => Functional.CrossEntropy(rank3, [0, 1])).Message);
        Assert.Null(logits.Grad);
    }

    [Fact]
    public void MseLoss_dropout_and_batch_norm_training_validate_their_arguments()
    {
        using Tensor a = Tensor.Zeros(2, 3);
        using Tensor b = Tensor.Zeros(3, 2);
        output.WriteLine(Throws<ArgumentException>(() => Functional.MseLoss(a, b)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.Dropout(a, -0.1f, true, 1)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.Dropout(a, 1.5f, true, 1)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.Dropout(a, float.NaN, true, 1)).Message);

        // Batch statistics need more than one value per channel (torch: "Expected more than 1 value per channel").
        using Tensor single = Tensor.Zeros(1, 3, 1, 1);
        output.WriteLine(Throws<ArgumentException>(() => Functional.BatchNorm2dTraining(single, null, null, null, null, 0.1f, 1e-5f)).Message);
        using Tensor x = TestData.NormalTensor(6, 2, 3, 4, 4);
        using Tensor w4 = Tensor.Zeros(4);
        output.WriteLine(Throws<ArgumentException>(() => Functional.BatchNorm2dTraining(x, w4, null, null, null, 0.1f, 1e-5f)).Message);
        using Tensor rm = Tensor.Zeros(3);
        output.WriteLine(Throws<ArgumentException>(() => Functional.BatchNorm2dTraining(x, null, null, rm, w4, 0.1f, 1e-5f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.BatchNorm2dTraining(x, null, null, null, null, 1.5f, 1e-5f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => Functional.BatchNorm2dTraining(x, null, null, null, null, 0.1f, -1f)).Message);
    }

    [Fact]
    public void Optimizers_refuse_bad_hyper_parameters_naming_them()
    {
        using Tensor p = Tensor.Zeros(3);
        p.RequiresGrad = true;
        Tensor[] ps = [p];
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, -0.1f), "-0.1").Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, float.NaN)).Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, 0.1f, momentum: -0.5f), "momentum").Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, 0.1f, weightDecay: -1f), "weight").Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, 0.1f, nesterov: true), "nesterov").Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(ps, 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true), "nesterov").Message);
        output.WriteLine(Throws<ArgumentException>(() => new Adam(ps, -1e-3f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => new Adam(ps, beta1: 1f), "beta").Message);
        output.WriteLine(Throws<ArgumentException>(() => new Adam(ps, beta2: -0.1f), "beta").Message);
        output.WriteLine(Throws<ArgumentException>(() => new Adam(ps, eps: -1e-8f), "eps").Message);
        output.WriteLine(Throws<ArgumentException>(() => new AdamW(ps, weightDecay: -0.01f), "weight").Message);
        output.WriteLine(Throws<ArgumentException>(() => new RMSprop(ps, alpha: -0.5f), "alpha").Message);
        output.WriteLine(Throws<ArgumentException>(() => new RMSprop(ps, momentum: -0.5f), "momentum").Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD(Array.Empty<Tensor>(), 0.1f)).Message);
        output.WriteLine(Throws<ArgumentException>(() => new SGD([p, p], 0.1f)).Message);

        using var sgd = new SGD(ps, 0.1f);
        output.WriteLine(Throws<ArgumentException>(() => sgd.LearningRate = -1f).Message);
        Assert.Equal(0.1f, sgd.LearningRate);
        output.WriteLine(Throws<ArgumentException>(() => new StepLR(sgd, 0)).Message);
        output.WriteLine(Throws<ArgumentException>(() => new CosineAnnealingLR(sgd, 0)).Message);

        // A non-leaf cannot be optimised.
        using Tensor y = Functional.Relu(p);
        output.WriteLine(Throws<ArgumentException>(() => new SGD([y], 0.1f)).Message);
    }

    [Fact]
    public void Module_ZeroGrad_clears_every_parameter_gradient()
    {
        using var net = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
        using Tensor x = TestData.NormalTensor(7, 5, 4);
        using Tensor y = net.Forward(x);
        using Tensor loss = Functional.MseLoss(y, Tensor.Zeros(5, 2));
        loss.Backward();
        Assert.All(net.Parameters(), q => Assert.NotNull(q.Grad));
        net.ZeroGrad();
        Assert.All(net.Parameters(), q => Assert.True(q.Grad == null || q.Grad.ToArray().All(v => v == 0)));
        Assert.Null(x.Grad); // inputs do not require grad by default
    }
}
