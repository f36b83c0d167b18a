using System.Globalization;

namespace CnnNative.Optim;

/// <summary>
/// Base class of the learning-rate schedulers (PyTorch's <c>torch.optim.lr_scheduler</c>), for one
/// <see cref="Step"/> per epoch: the learning rate after epoch <c>e</c> is a closed-form function of
/// <c>e</c> and the optimizer's initial learning rate.
/// </summary>
/// <remarks>
/// As in PyTorch, creating a scheduler records the optimizer's current learning rate as its initial
/// one (only the first scheduler on an optimizer does; later ones reuse that value), sets
/// <see cref="LastEpoch"/> to 0 and the learning rate to its value at epoch 0. Call <see cref="Step"/>
/// once per epoch, after that epoch's optimizer steps. The rate is computed in double precision and
/// stored as the optimizer's float <see cref="Optimizer.LearningRate"/>.
/// </remarks>
public abstract class LRScheduler
{
    /// <summary>Attaches the scheduler to <paramref name="optimizer"/> and applies the epoch-0 learning rate.</summary>
    /// <param name="optimizer">The optimizer whose <see cref="Optimizer.LearningRate"/> is scheduled.</param>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    private protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        optimizer.InitialLearningRate ??= optimizer.LearningRate;
        BaseLearningRate = optimizer.InitialLearningRate.Value;
    }

    /// <summary>The scheduled optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rate the schedule starts from (PyTorch's <c>base_lrs[0]</c>).</summary>
    public float BaseLearningRate { get; }

    /// <summary>The number of <see cref="Step"/> calls so far (PyTorch's <c>last_epoch</c>; 0 after construction).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The learning rate the scheduler last set (PyTorch's <c>get_last_lr()[0]</c>).</summary>
    public float LastLearningRate { get; private set; }

    /// <summary>Advances one epoch and sets the optimizer's learning rate for the next one.</summary>
    public void Step()
    {
        LastEpoch = checked(LastEpoch + 1);
        Apply();
    }

    /// <summary>The learning rate at <paramref name="epoch"/> (closed form; &gt;= 0).</summary>
    /// <param name="epoch">The epoch, &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public float LearningRateAt(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        double lr = ClosedForm(epoch);
        return (float)Math.Max(lr, 0.0);
    }

    /// <summary>The schedule: the learning rate at <paramref name="epoch"/> from <see cref="BaseLearningRate"/>.</summary>
    /// <param name="epoch">The epoch, &gt;= 0.</param>
    private protected abstract double ClosedForm(int epoch);

    /// <summary>Applies the epoch-0 rate; called by the derived constructor once its fields are set.</summary>
    private protected void Initialize() => Apply();

    /// <summary>Formats a value for messages.</summary>
    private protected static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A float as the double of its shortest round-trip decimal (0.1f -> 0.1), so the schedule matches
    /// PyTorch's, whose hyper-parameters are Python doubles written as the same decimals.
    /// </summary>
    private protected static double Decimal(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    private void Apply()
    {
        float lr = LearningRateAt(LastEpoch);
        Optimizer.LearningRate = lr;
        LastLearningRate = lr;
    }
}

/// <summary>
/// Decays the learning rate by <see cref="Gamma"/> every <see cref="StepSize"/> epochs: PyTorch's
/// <c>torch.optim.lr_scheduler.StepLR</c>, <c>lr = base_lr * gamma^(epoch / step_size)</c> (integer division).
/// </summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the scheduler and sets the epoch-0 learning rate (the optimizer's initial one).</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="stepSize">The period of the decay in epochs, &gt;= 1.</param>
    /// <param name="gamma">The multiplicative factor, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public StepLR(Optimizer optimizer, int stepSize, float gamma = 0.1f)
        : base(optimizer)
    {
        if (stepSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"Invalid step_size value: {stepSize} (expected >= 1).");
        }

        if (!(gamma >= 0f) || float.IsInfinity(gamma))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"Invalid gamma value: {Format(gamma)} (expected a finite value >= 0).");
        }

        StepSize = stepSize;
        Gamma = gamma;
        Initialize();
    }

    /// <summary>The period of the decay in epochs.</summary>
    public int StepSize { get; }

    /// <summary>The multiplicative factor of the decay.</summary>
    public float Gamma { get; }

    /// <summary>The closed-form schedule.</summary>
    private protected override double ClosedForm(int epoch) => Decimal(BaseLearningRate) * Math.Pow(Decimal(Gamma), epoch / StepSize);
}

/// <summary>
/// Cosine annealing from the initial learning rate to <see cref="EtaMin"/> over <see cref="TMax"/>
/// epochs: PyTorch's <c>torch.optim.lr_scheduler.CosineAnnealingLR</c> in its closed form,
/// <c>lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2</c>. Past
/// <see cref="TMax"/> the cosine continues (the rate rises again), as in PyTorch.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the scheduler and sets the epoch-0 learning rate (the optimizer's initial one).</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="tMax">The number of epochs of the half cosine, &gt;= 1.</param>
    /// <param name="etaMin">The minimum learning rate, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, float etaMin = 0f)
        : base(optimizer)
    {
        if (tMax < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(tMax), tMax, $"Invalid T_max value: {tMax} (expected >= 1).");
        }

        if (!(etaMin >= 0f) || float.IsInfinity(etaMin))
        {
            throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, $"Invalid eta_min value: {Format(etaMin)} (expected a finite value >= 0).");
        }

        TMax = tMax;
        EtaMin = etaMin;
        Initialize();
    }

    /// <summary>The number of epochs from the initial learning rate to <see cref="EtaMin"/>.</summary>
    public int TMax { get; }

    /// <summary>The minimum learning rate.</summary>
    public float EtaMin { get; }

    /// <summary>The closed-form schedule.</summary>
    private protected override double ClosedForm(int epoch) =>
        Decimal(EtaMin) + (Decimal(BaseLearningRate) - Decimal(EtaMin)) * (1.0 + Math.Cos(Math.PI * epoch / TMax)) / 2.0;
}
