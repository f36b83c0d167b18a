using CnnNative.IO;

namespace CnnNative.Nn;

/// <summary>
/// Batch normalization over the channels of an NCHW input, PyTorch's <c>nn.BatchNorm2d</c>, with an optional
/// fused activation. State (PyTorch's names and order): <c>weight</c> (gamma, 1) and <c>bias</c> (beta, 0) if
/// <c>affine</c>; <c>running_mean</c> (0), <c>running_var</c> (1) and <c>num_batches_tracked</c> (0; int64 in
/// PyTorch and in safetensors files, float here) if <c>track_running_stats</c>.
/// </summary>
/// <remarks>
/// Eval mode normalizes with the running statistics (native kernel). Training mode (the default, as in PyTorch)
/// normalizes with the batch's own mean and biased variance over (N, H, W), and updates the running statistics
/// like PyTorch: <c>running = (1 - momentum) * running + momentum * batch</c> with the unbiased variance, and
/// <c>num_batches_tracked += 1</c> (with <c>momentum = null</c> the factor is <c>1 / num_batches_tracked</c>, a
/// cumulative average). Without running statistics, batch statistics are used in both modes.
/// </remarks>
public sealed class BatchNorm2d : Module
{
    /// <summary><c>nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)</c>.</summary>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
        bool trackRunningStats = true, Activation activation = Activation.None)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numFeatures, 1);
        if (!double.IsFinite(eps) || eps < 0)
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be finite and >= 0.");
        if (momentum is double m && (!double.IsFinite(m) || m < 0 || m > 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1] (or null for a cumulative average).");
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");

        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        Activation = activation;

        if (affine)
        {
            Weight = RegisterParameter("weight", Filled(1f, numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Filled(1f, numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros(1),
                storageDType: SafetensorsDType.I64, optionalOnLoad: true, scalar: true);
        }
    }

    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch statistics in the running averages; null: cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>Whether there are learnable <see cref="Weight"/> and <see cref="Bias"/>.</summary>
    public bool Affine { get; }

    /// <summary>Whether running statistics are kept (and used in eval mode).</summary>
    public bool TrackRunningStats { get; }

    /// <summary>Activation applied after the normalization (fused); <see cref="Activation.None"/> by default.</summary>
    public Activation Activation { get; set; }

    /// <summary>gamma [C], or null without <c>affine</c>.</summary>
    public Tensor? Weight { get; }

    /// <summary>beta [C], or null without <c>affine</c>.</summary>
    public Tensor? Bias { get; }

    /// <summary>Running mean [C], or null without <c>track_running_stats</c>.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>Running variance [C] (unbiased), or null without <c>track_running_stats</c>.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>Batches seen in training mode, a one-element tensor (int64 scalar in PyTorch), or null.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        RequireRank(input, 4, nameof(BatchNorm2d));
        int[] shape = input.Shape;
        if (shape[1] != NumFeatures)
            throw new ArgumentException($"BatchNorm2d({NumFeatures}) got an input with {shape[1]} channels (shape [{string.Join(", ", shape)}]).", nameof(input));

        bool useBatchStats = Training || !TrackRunningStats;
        if (!useBatchStats)
            return Functional.BatchNorm2d(input, RunningMean!, RunningVar!, Weight, Bias, (float)Eps, Activation);

        long count = (long)shape[0] * shape[2] * shape[3];
        if (count <= 1)
            throw new ArgumentException(
                $"BatchNorm2d in training mode needs more than 1 value per channel, got input shape [{string.Join(", ", shape)}] (as in PyTorch; call Eval() for inference).",
                nameof(input));

        // Batch statistics (native training forward, gradient through them); running statistics updated
        // in training mode only, with PyTorch's factor: momentum, or 1 / num_batches_tracked (cumulative average).
        bool update = Training && TrackRunningStats;
        float factor = update ? (float)(Momentum ?? 1.0 / (NumBatchesTracked!.AsSpan()[0] + 1.0)) : 0f;
        var output = Functional.BatchNorm2dTraining(input, Weight, Bias, update ? RunningMean : null, update ? RunningVar : null,
            factor, (float)Eps, Activation);
        if (update)
            NumBatchesTracked!.AsSpan()[0] += 1;
        return output;
    }

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        string momentum = Momentum is double m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None";
        var s = $"{NumFeatures}, eps={Eps.ToString(System.Globalization.CultureInfo.InvariantCulture)}, momentum={momentum}, affine={(Affine ? "True" : "False")}, track_running_stats={(TrackRunningStats ? "True" : "False")}";
        if (Activation != Activation.None) s += $", activation={Activation}";
        return s;
    }
}
