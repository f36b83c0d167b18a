using CnnNative.Interop;

namespace CnnNative;

public static unsafe partial class Functional
{
    // ------------------------------------------------------------------------------------------
    // Training-only ops and losses
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Batch normalization in training mode (PyTorch's <c>batch_norm(..., training=True)</c>): normalizes
    /// with the batch mean and biased variance over (N, H, W) and, when running statistics are given,
    /// updates them in place: <c>running = (1 - momentum) * running + momentum * batch</c> (unbiased variance
    /// for <c>running_var</c>). The gradient flows through the batch statistics. The running statistics
    /// are updated even inside <see cref="Autograd.NoGrad"/>.
    /// </summary>
    /// <param name="input">[N, C, H, W] with N*H*W &gt;= 2.</param>
    /// <param name="weight">gamma [C], or null for 1.</param>
    /// <param name="bias">beta [C], or null for 0.</param>
    /// <param name="runningMean">[C] updated in place, or null (then <paramref name="runningVar"/> must be null too).</param>
    /// <param name="runningVar">[C] updated in place, or null.</param>
    /// <param name="momentum">Weight of the batch statistics in the running update, in [0, 1] (PyTorch's default 0.1).</param>
    /// <param name="eps">Added to the variance; finite and &gt;= 0 (PyTorch's default 1e-5).</param>
    /// <param name="activation">Activation applied to the output (fused; its backward runs from the output).</param>
    /// <returns>A new [N, C, H, W] tensor.</returns>
    /// <exception cref="ArgumentException">A shape, <paramref name="momentum"/> or <paramref name="eps"/> is invalid, or only one running statistic is given.</exception>
    public static Tensor BatchNorm2dTraining(Tensor input, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        float momentum, float eps, Activation activation = Activation.None)
    {
        Inference.Trace.Unsupported("Functional.BatchNorm2dTraining (batch norm in training mode or without running statistics)");
        ReadOnlySpan<int> x = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        int channels = x[1];
        if ((runningMean is null) != (runningVar is null))
        {
            throw new ArgumentException(
                "runningMean and runningVar must both be given (updated in place) or both be null (no running statistics).",
                runningMean is null ? nameof(runningMean) : nameof(runningVar));
        }

        if (runningMean is not null)
        {
            CheckChannelVector(runningMean, channels, nameof(runningMean));
            CheckChannelVector(runningVar!, channels, nameof(runningVar));
        }

        if (weight is not null)
        {
            CheckChannelVector(weight, channels, nameof(weight));
        }

        if (bias is not null)
        {
            CheckChannelVector(bias, channels, nameof(bias));
        }

        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        CheckFusedTrainable(activation, Autograd.ShouldRecord(input, weight, bias));

        var p = new CnnBatchNorm2dParams { Batch = x[0], Channels = x[1], Height = x[2], Width = x[3], Epsilon = eps };
        bool record = Autograd.ShouldRecord(input, weight, bias);
        int inputVersion = input.Storage.Version, weightVersion = weight?.Storage.Version ?? 0;
        Tensor output = Tensor.Create(input.Shape);
        NativeBuffer? stats = null;
        try
        {
            stats = NativeBuffer.Allocate(2L * channels * sizeof(float));
            float* mean = (float*)stats.DangerousGetHandle();
            using (TensorPin pi = input.Pin())
            using (TensorPin pw = Tensor.PinOrNull(weight))
            using (TensorPin pb = Tensor.PinOrNull(bias))
            using (TensorPin pm = Tensor.PinOrNull(runningMean))
            using (TensorPin pv = Tensor.PinOrNull(runningVar))
            using (TensorPin po = output.Pin())
            {
                Native.Check(NativeMethods.cnn_batch_norm2d_training_forward(Native.ContextPointer, &p, pi.Pointer, pw.Pointer, pb.Pointer,
                    momentum, pm.Pointer, pv.Pointer, mean, mean + channels, po.Pointer));
                if (activation != Activation.None)
                {
                    Native.Check(NativeMethods.cnn_activation_forward(
                        Native.ContextPointer, (CnnActivation)activation, output.Length, po.Pointer, po.Pointer));
                }
            }

            runningMean?.MarkWritten();
            runningVar?.MarkWritten();
            if (record)
            {
                output.SetGradFn(new BatchNorm2dNode(p, (CnnActivation)activation, batchStatistics: true, input, inputVersion,
                    weight, weightVersion, bias, stats, output));
                stats = null; // owned by the node
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            stats?.Dispose();
        }
    }

    /// <summary>
    /// Softmax cross-entropy with integer class labels, the mean over the batch (PyTorch's
    /// <c>F.cross_entropy(logits, labels, label_smoothing=s)</c>). Its gradient is computed in the same
    /// native pass when recording, so the backward pass only hands it on.
    /// </summary>
    /// <param name="logits">[N, C] unnormalized scores.</param>
    /// <param name="labels">N class indices, each in [0, C).</param>
    /// <param name="labelSmoothing">In [0, 1]: the target mixes the one-hot label with the uniform distribution.</param>
    /// <returns>A new [1] tensor with the loss.</returns>
    /// <exception cref="ArgumentException">The logits are not 2-D, the label count differs from N, a label is out of range, or the smoothing is outside [0, 1].</exception>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> labels, float labelSmoothing = 0)
    {
        Inference.Trace.Unsupported("Functional.CrossEntropy");
        ReadOnlySpan<int> x = CheckRank(logits, 2, "[N, C]", nameof(logits));
        if (labels.Length != x[0])
        {
            throw new ArgumentException(
                $"labels has {labels.Length} elements; expected {x[0]} (one per row of logits {Tensor.FormatShape(x)}).", nameof(labels));
        }

        bool record = Autograd.ShouldRecord(logits);
        long count = logits.Length;
        Tensor output = Tensor.Create([1]);
        NativeBuffer? grad = null;
        try
        {
            grad = record ? NativeBuffer.Allocate(count * sizeof(float)) : null;
            float loss;
            using (TensorPin pl = logits.Pin())
            {
                fixed (int* pLabels = labels)
                {
                    Native.Check(NativeMethods.cnn_cross_entropy(Native.ContextPointer, x[0], x[1], pl.Pointer, pLabels, labelSmoothing, &loss,
                        grad is null ? null : (float*)grad.DangerousGetHandle()));
                }
            }

            output.Pointer[0] = loss;
            if (grad is not null)
            {
                output.SetGradFn(new CrossEntropyNode(logits, grad, count));
                grad = null;
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            grad?.Dispose();
        }
    }

    /// <summary>Mean squared error over all elements (PyTorch's <c>F.mse_loss</c>, reduction 'mean').</summary>
    /// <param name="prediction">Any shape.</param>
    /// <param name="target">The shape of <paramref name="prediction"/>; it gets a gradient too if it requires grad.</param>
    /// <returns>A new [1] tensor with the loss.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor MseLoss(Tensor prediction, Tensor target)
    {
        Inference.Trace.Unsupported("Functional.MseLoss");
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!target.HasShape(prediction.Dims))
        {
            throw new ArgumentException(
                $"target has shape {Tensor.FormatShape(target.Dims)}; expected {Tensor.FormatShape(prediction.Dims)} (the prediction's shape).",
                nameof(target));
        }

        bool record = Autograd.ShouldRecord(prediction, target);
        long count = prediction.Length;
        Tensor output = Tensor.Create([1]);
        NativeBuffer? grad = null;
        try
        {
            grad = record ? NativeBuffer.Allocate(count * sizeof(float)) : null;
            float loss;
            using (TensorPin pp = prediction.Pin())
            using (TensorPin pt = target.Pin())
            {
                Native.Check(NativeMethods.cnn_mse_loss(Native.ContextPointer, count, pp.Pointer, pt.Pointer, &loss,
                    grad is null ? null : (float*)grad.DangerousGetHandle()));
            }

            output.Pointer[0] = loss;
            if (grad is not null)
            {
                output.SetGradFn(new MseLossNode(prediction, target, grad, count));
                grad = null;
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            grad?.Dispose();
        }
    }

    /// <summary>
    /// Inverted dropout (PyTorch's <c>F.dropout</c>): in training mode each element is zeroed with
    /// probability <paramref name="p"/> and the others are scaled by 1/(1-p); the mask depends only on
    /// (<paramref name="seed"/>, element index, p), not on the thread count. Otherwise the input is returned
    /// unchanged, as a view the caller owns.
    /// </summary>
    /// <param name="input">Any shape.</param>
    /// <param name="p">Drop probability in [0, 1].</param>
    /// <param name="training">False: identity.</param>
    /// <param name="seed">Seed of the mask.</param>
    /// <returns>A new tensor of the input's shape (a view of the input when not training or p = 0).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Tensor Dropout(Tensor input, float p, bool training, long seed)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1].");
        }

        if (!training || p == 0f)
        {
            return input.Reshape(input.Shape);
        }

        Inference.Trace.Unsupported("Functional.Dropout in training mode");
        bool record = Autograd.ShouldRecord(input);
        long count = input.Length;
        Tensor output = Tensor.Create(input.Shape);
        NativeBuffer? mask = null;
        try
        {
            if (p < 1f)
            {
                mask = NativeBuffer.Allocate(count * sizeof(float));
                using TensorPin pi = input.Pin();
                Native.Check(NativeMethods.cnn_dropout_forward(Native.ContextPointer, count, p, seed, pi.Pointer,
                    (float*)mask.DangerousGetHandle(), output.Pointer));
            }

            if (record)
            {
                output.SetGradFn(new DropoutNode(input, mask, count));
                mask = null;
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            mask?.Dispose();
        }
    }
}
