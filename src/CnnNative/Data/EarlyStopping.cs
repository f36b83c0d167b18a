using System.Globalization;
using CnnNative.Nn;

namespace CnnNative.Data;

/// <summary>
/// Early stopping on a validation metric: stops after <see cref="Patience"/> epochs without an
/// improvement of more than <see cref="MinDelta"/>, and keeps a copy of the best model's state
/// (<see cref="Module.StateDict"/>: parameters and buffers) to restore at the end.
/// </summary>
/// <example>
/// <code>
/// using var stopper = new EarlyStopping(patience: 5, minDelta: 1e-4f);
/// for (int epoch = 0; epoch &lt; maxEpochs; epoch++)
/// {
///     Train(model);
///     if (stopper.Step(Validate(model), model)) break;
/// }
/// stopper.RestoreBest(model);
/// </code>
/// </example>
public sealed class EarlyStopping : IDisposable
{
    private List<(string Key, Tensor Value)>? _best;
    private bool _disposed;

    /// <summary>Creates the tracker.</summary>
    /// <param name="patience">How many consecutive epochs without improvement end the training (<see cref="ShouldStop"/>), &gt;= 0.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement, finite and &gt;= 0.</param>
    /// <param name="maximize">False (default) when lower is better (a loss), true when higher is better (an accuracy).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public EarlyStopping(int patience, float minDelta = 0f, bool maximize = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        if (!(minDelta >= 0f) || float.IsInfinity(minDelta))
        {
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"minDelta must be finite and >= 0, got {minDelta}.");
        }

        Patience = patience;
        MinDelta = minDelta;
        Maximize = maximize;
    }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public float MinDelta { get; }

    /// <summary>Whether higher metric values are better.</summary>
    public bool Maximize { get; }

    /// <summary>The best metric so far (NaN before the first <see cref="Step"/>).</summary>
    public float BestMetric { get; private set; } = float.NaN;

    /// <summary>The 0-based number of the <see cref="Step"/> call that gave <see cref="BestMetric"/> (-1 before any).</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <summary>The number of <see cref="Step"/> calls so far.</summary>
    public int Epochs { get; private set; }

    /// <summary>Consecutive epochs without improvement.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>
    /// Whether the patience is exhausted: the last <see cref="Patience"/> epochs (at least one) brought no
    /// improvement (Keras' rule: patience 0 stops at the first epoch without improvement).
    /// </summary>
    public bool ShouldStop => EpochsWithoutImprovement > 0 && EpochsWithoutImprovement >= Patience;

    /// <summary>Whether a best state has been saved.</summary>
    public bool HasBest => _best is not null;

    /// <summary>
    /// Records the metric of one epoch. If it improves on <see cref="BestMetric"/> by more than
    /// <see cref="MinDelta"/> (the first finite metric always does), the model's state is copied as the best
    /// one; a NaN metric never improves.
    /// </summary>
    /// <param name="metric">The validation metric of this epoch.</param>
    /// <param name="model">The model whose state is saved on improvement.</param>
    /// <returns><see cref="ShouldStop"/>: true when training should stop.</returns>
    /// <exception cref="ObjectDisposedException">This object is disposed.</exception>
    public bool Step(float metric, Module model)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(model);
        Epochs++;
        if (IsImprovement(metric))
        {
            Save(model);
            BestMetric = metric;
            BestEpoch = Epochs - 1;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }

        return ShouldStop;
    }

    /// <summary>Copies the saved best state into <paramref name="model"/> (its parameters and buffers); does nothing if none was saved.</summary>
    /// <param name="model">The model (the same architecture as the one passed to <see cref="Step"/>).</param>
    /// <returns>Whether a state was restored.</returns>
    /// <exception cref="ArgumentException">The model's keys or shapes differ from the saved state.</exception>
    /// <exception cref="ObjectDisposedException">This object is disposed.</exception>
    public bool RestoreBest(Module model)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(model);
        if (_best is null)
        {
            return false;
        }

        model.LoadStateDict(_best, strict: true);
        return true;
    }

    /// <summary>Frees the saved state. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        FreeBest();
    }

    /// <summary>The state, e.g. <c>EarlyStopping(best 0.3124 at epoch 4, 2/5 epochs without improvement)</c>.</summary>
    public override string ToString() =>
        $"EarlyStopping(best {BestMetric.ToString("G6", CultureInfo.InvariantCulture)} at epoch {BestEpoch}, " +
        $"{EpochsWithoutImprovement}/{Patience} epochs without improvement)";

    private bool IsImprovement(float metric)
    {
        if (float.IsNaN(metric))
        {
            return false;
        }

        if (BestEpoch < 0)
        {
            return true;
        }

        return Maximize ? metric > BestMetric + MinDelta : metric < BestMetric - MinDelta;
    }

    private void Save(Module model)
    {
        IReadOnlyList<(string Key, Tensor Value)> state = model.StateDict();

        // Reuse the copies when the model still has the same keys and shapes.
        if (_best is not null && _best.Count == state.Count)
        {
            bool same = true;
            for (int i = 0; i < state.Count && same; i++)
            {
                same = _best[i].Key == state[i].Key && _best[i].Value.HasShape(state[i].Value.Dims);
            }

            if (same)
            {
                for (int i = 0; i < state.Count; i++)
                {
                    _best[i].Value.CopyFrom(state[i].Value);
                }

                return;
            }
        }

        var copies = new List<(string Key, Tensor Value)>(state.Count);
        try
        {
            foreach (var (key, value) in state)
            {
                copies.Add((key, value.Clone()));
            }
        }
        catch
        {
            foreach (var (_, copy) in copies)
            {
                copy.Dispose();
            }

            throw;
        }

        FreeBest();
        _best = copies;
    }

    private void FreeBest()
    {
        if (_best is null)
        {
            return;
        }

        foreach (var (_, value) in _best)
        {
            value.Dispose();
        }

        _best = null;
    }
}
