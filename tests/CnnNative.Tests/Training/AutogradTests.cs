using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>Autograd semantics that need no oracle: retained graphs, no-grad scopes, detach, shared weights.</summary>
public sealed class AutogradTests(ITestOutputHelper output)
{
    [Fact]
    public void Backward_with_retained_graph_can_run_twice_and_accumulates()
    {
        using Tensor x = TestData.NormalTensor(1, 3, 4);
        x.RequiresGrad = true;
        using Tensor y = Functional.Tanh(x);
        using Tensor g = TestData.NormalTensor(2, 3, 4);
        y.Backward(g, retainGraph: true);
        float[] once = x.Grad!.ToArray();
        y.Backward(g, retainGraph: false);
        Assert.Equal(once.Select(v => v * 2).ToArray(), x.Grad!.ToArray());
        Assert.ThrowsAny<InvalidOperationException>(() => y.Backward(g));
    }

    [Fact]
    public void NoGrad_is_thread_local_and_nests()
    {
        using Tensor w = TestData.NormalTensor(3, 4, 4);
        w.RequiresGrad = true;
        using (Autograd.NoGrad())
        {
            using (Autograd.NoGrad())
            {
                Assert.False(Autograd.IsEnabled);
            }

            Assert.False(Autograd.IsEnabled);
            bool otherThread = false;
            var thread = new Thread(() =>
            {
                using Tensor y = Functional.Relu(w);
                otherThread = Autograd.IsEnabled && y.GradFn != null;
            });
            thread.Start();
            thread.Join();
            Assert.True(otherThread, "NoGrad on this thread disabled recording on another thread");
            using Tensor z = Functional.Relu(w);
            Assert.Null(z.GradFn);
        }

        Assert.True(Autograd.IsEnabled);
        using Tensor r = Functional.Relu(w);
        Assert.NotNull(r.GradFn);
        Assert.False(r.IsLeaf);
    }

    [Fact]
    public void Detach_shares_storage_but_stops_gradients()
    {
        using Tensor x = TestData.NormalTensor(4, 2, 3);
        x.RequiresGrad = true;
        using Tensor y = Functional.Sigmoid(x);
        using Tensor d = y.Detach();
        Assert.Equal(y.ToArray(), d.ToArray());
        Assert.Null(d.GradFn);
        using Tensor z = Functional.Add(y, d);          // d is a constant: dz/dx = sigmoid'(x) only
        using Tensor ones = Tensor.Full(1f, 2, 3);
        z.Backward(ones);
        float[] xs = x.ToArray(), grad = x.Grad!.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-xs[i]));
            Assert.Equal(s * (1 - s), grad[i], 1e-6);
        }
    }

    [Fact]
    public void A_module_applied_twice_accumulates_both_uses_into_its_parameters()
    {
        // y = L(tanh(L(x))) with shared weights: dL/dW gets two contributions (checked against the
        // sum of the per-use gradients computed with two independent copies of the layer).
        Cnn.ManualSeed(5);
        using var shared = new Linear(4, 4);
        using var first = new Linear(4, 4);
        using var second = new Linear(4, 4);
        first.LoadStateDict(shared.StateDict());
        second.LoadStateDict(shared.StateDict());
        using Tensor x = TestData.NormalTensor(6, 3, 4);
        using Tensor g = TestData.NormalTensor(7, 3, 4);

        using (Tensor h = shared.Forward(x))
        using (Tensor t = Functional.Tanh(h))
        using (Tensor y = shared.Forward(t))
        {
            y.Backward(g);
        }

        using (Tensor h = first.Forward(x))
        using (Tensor t = Functional.Tanh(h))
        using (Tensor y = second.Forward(t))
        {
            y.Backward(g);
        }

        float[] sum = first.Weight.Grad!.ToArray().Zip(second.Weight.Grad!.ToArray(), (a, b) => a + b).ToArray();
        float[] got = shared.Weight.Grad!.ToArray();
        for (int i = 0; i < sum.Length; i++)
        {
            Assert.Equal(sum[i], got[i], 1e-5f);
        }

        output.WriteLine("shared-weight gradient = sum of the two uses");
    }

    [Fact]
    public void Modifying_a_saved_tensor_in_place_makes_Backward_throw()
    {
        // CopyFrom on a tensor the graph saved (sigmoid saves its output).
        using Tensor x = TestData.NormalTensor(8, 2, 5);
        x.RequiresGrad = true;
        using (Tensor y = Functional.Sigmoid(x))
        using (Tensor loss = Functional.MseLoss(y, Tensor.Zeros(2, 5)))
        {
            y.CopyFrom(new float[10]);
            var e = Assert.ThrowsAny<InvalidOperationException>(() => loss.Backward());
            output.WriteLine(e.Message);
        }

        // An in-place Functional op (output = the saved tensor).
        using Tensor b = TestData.NormalTensor(9, 2, 5);
        using (Tensor y = Functional.Sigmoid(x))
        using (Tensor loss = Functional.MseLoss(y, Tensor.Zeros(2, 5)))
        {
            Functional.Add(y, b, Activation.None, y);
            var e = Assert.ThrowsAny<InvalidOperationException>(() => loss.Backward());
            output.WriteLine(e.Message);
        }
    }

    [Fact]
    public void An_optimizer_step_between_forward_and_backward_makes_Backward_throw()
    {
        // torch: "one of the variables needed for gradient computation has been modified by an inplace
        // operation". Backward after the weights moved would mix old activations with new weights.
        Cnn.ManualSeed(3);
        using var layer = new Linear(4, 3);
        using var sgd = new CnnNative.Optim.SGD(layer.Parameters(), 0.1f);
        using Tensor x = TestData.NormalTensor(10, 5, 4);
        x.RequiresGrad = true; // the input gradient needs the (saved) weight
        using Tensor target = Tensor.Zeros(5, 3);
        using (Tensor y1 = layer.Forward(x))
        using (Tensor l1 = Functional.MseLoss(y1, target))
        {
            l1.Backward();
        }

        using Tensor y2 = layer.Forward(x);
        using Tensor l2 = Functional.MseLoss(y2, target);
        sgd.Step(); // updates the weight in place
        var e = Assert.ThrowsAny<InvalidOperationException>(() => l2.Backward());
        output.WriteLine(e.Message);
    }

    [Fact]
    public void Gradients_flow_through_a_reshaped_view_of_a_leaf()
    {
        using Tensor flat = TestData.NormalTensor(11, 2, 48);
        flat.RequiresGrad = true;
        using Tensor direct = Tensor.FromArray(flat.ToArray(), 2, 3, 4, 4);
        direct.RequiresGrad = true;
        using Tensor w = TestData.NormalTensor(12, 5, 3, 3, 3);
        using Tensor g = TestData.NormalTensor(13, 2, 5, 2, 2);
        using (Tensor view = flat.Reshape(2, 3, 4, 4))
        using (Tensor y = Functional.Conv2d(view, w, null, new Conv2dOptions()))
        {
            y.Backward(g);
        }

        using (Tensor y = Functional.Conv2d(direct, w, null, new Conv2dOptions()))
        {
            y.Backward(g);
        }

        Assert.Equal(new[] { 2, 48 }, flat.Grad!.Shape);
        Assert.Equal(direct.Grad!.ToArray(), flat.Grad!.ToArray());
    }
}
