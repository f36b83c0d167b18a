namespace CnnNative.Tests.Training;

/// <summary>Autograd.ProfileBackward times backward nodes by kind on its thread only, and stops when disposed.</summary>
public sealed class BackwardProfileTests
{
    [Fact]
    public void Profile_counts_each_backward_node_kind_once_per_pass_and_stops_when_disposed()
    {
        using var x = Tensor.Randn(1, 2, 3, 8, 8);
        using var w = Tensor.Randn(2, 4, 3, 3, 3);
        using var target = Tensor.Zeros(2, 4, 6, 6);
        w.RequiresGrad = true;

        using (BackwardProfile profile = Autograd.ProfileBackward())
        {
            for (int pass = 0; pass < 2; pass++)
            {
                using Tensor y = Functional.Conv2d(x, w, null, new Conv2dOptions());
                using Tensor r = Functional.Relu(y);
                using Tensor loss = Functional.MseLoss(r, target);
                loss.Backward();
            }
            var byNode = profile.ByNode;
            Assert.Equal(2, byNode["ConvolutionBackward"].Calls);
            Assert.True(byNode["ConvolutionBackward"].Time > TimeSpan.Zero);
            Assert.Equal(2, byNode["ReluBackward"].Calls);
            Assert.Equal(2, byNode["MseLossBackward"].Calls);

            // Another thread's backward passes are not this profile's.
            var other = new Thread(() =>
            {
                using Tensor y = Functional.Conv2d(x, w, null, new Conv2dOptions());
                using Tensor loss = Functional.MseLoss(y, target);
                loss.Backward();
            });
            other.Start();
            other.Join();
            Assert.Equal(2, profile.ByNode["ConvolutionBackward"].Calls);

            profile.Reset();
            Assert.Empty(profile.ByNode);
        }

        // Disposed: nothing is collected any more (a new profile starts empty and sees only its own passes).
        using (Tensor y = Functional.Conv2d(x, w, null, new Conv2dOptions()))
        using (Tensor loss = Functional.MseLoss(y, target))
        {
            loss.Backward();
        }
        using BackwardProfile fresh = Autograd.ProfileBackward();
        Assert.Empty(fresh.ByNode);
    }
}
