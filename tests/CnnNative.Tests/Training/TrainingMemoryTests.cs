using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Optim;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>
/// Native memory after training: forward + loss + Backward + optimizer steps + disposal leave the
/// live native blocks at their baseline (graphs, gradients, saved tensors and optimizer state freed).
/// Runs in the serial memory collection (no other test allocates meanwhile).
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class TrainingMemoryTests(ITestOutputHelper output)
{
    private static void TrainingRound(int i)
    {
        int k = i + 10;
        int[] labels = [k % 10, (k + 3) % 10, (k + 7) % 10];
        using (var net = new LeNet5())
        using (var sgd = new SGD(net.Parameters(), 0.01f, momentum: 0.9f, weightDecay: 1e-4f))
        using (Tensor x = TestData.NormalTensor(i, 3, 1, 28, 28))
        {
            net.Train();
            for (int step = 0; step < 2; step++)
            {
                sgd.ZeroGrad();
                using Tensor logits = net.Forward(x);
                using Tensor loss = Functional.CrossEntropy(logits, labels, 0.1f);
                loss.Backward();
                sgd.Step();
            }
        }

        using (var block = new BasicBlock(3, 4, 2))
        using (var adam = new AdamW(block.Parameters(), 1e-3f))
        using (Tensor x = TestData.NormalTensor(i + 1, 2, 3, 7, 7))
        {
            block.Train();
            using Tensor y = block.Forward(x);
            using Tensor dropped = Functional.Dropout(y, 0.3f, training: true, seed: i);
            using Tensor target = Tensor.Zeros(dropped.Shape);
            using Tensor loss = Functional.MseLoss(dropped, target);
            loss.Backward();
            adam.Step();
            block.ZeroGrad();
        }

        // A graph that is never backpropagated: released with its tensors.
        using (Tensor w = TestData.NormalTensor(i + 2, 4, 3, 3, 3))
        using (Tensor x = TestData.NormalTensor(i + 3, 1, 3, 6, 6))
        {
            w.RequiresGrad = true;
            using Tensor y = Functional.Conv2d(x, w, null, new Conv2dOptions(), Activation.Relu);
            using Tensor p = Functional.MaxPool2d(y, new Pool2dOptions(2));
        }

        // A rejected Backward does not leak either.
        using (Tensor x = TestData.NormalTensor(i + 4, 2, 3))
        {
            x.RequiresGrad = true;
            using Tensor y = Functional.Sigmoid(x);
            Assert.ThrowsAny<ArgumentException>(() => y.Backward());
            using Tensor g = Tensor.Full(1f, 2, 3);
            y.Backward(g);
        }
    }

    [Fact]
    public void Live_native_blocks_return_to_baseline_after_training_steps()
    {
        foreach (var isa in Isas.Tested)
        {
            using IDisposable _ = Isas.Use(isa);
            TrainingRound(-1); // warm-up: this thread's context and its scratch
            NativeMemoryStats baseline = MemoryBaseline.Settled();
            for (int i = 0; i < 10; i++)
            {
                TrainingRound(i);
            }

            MemoryBaseline.AssertReturnedTo(baseline, output, isa);
        }
    }
}
