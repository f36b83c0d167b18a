using System.Diagnostics;

namespace CnnNative;

/// <summary>
/// Wall time per kind of backward node (<see cref="AutogradNode.Name"/>: "ConvolutionBackward",
/// "NativeBatchNormBackward", ...) of the backward passes run on the creating thread while the profile is
/// active. For per-phase breakdowns in benchmarks: off by default, and then the engine pays one null check
/// per node. Create with <see cref="Autograd.ProfileBackward"/>; dispose to stop collecting.
/// </summary>
public sealed class BackwardProfile : IDisposable
{
    [ThreadStatic]
    private static BackwardProfile? t_active;

    private readonly Dictionary<string, (long Ticks, int Calls)> _byNode = [];
    private readonly BackwardProfile? _previous;
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private bool _disposed;

    internal BackwardProfile()
    {
        _previous = t_active;
        t_active = this;
    }

    /// <summary>The profile collecting on the calling thread, or null.</summary>
    internal static BackwardProfile? Active => t_active;

    /// <summary>Total time and calls per node kind since the profile started (or since <see cref="Reset"/>).</summary>
    public IReadOnlyDictionary<string, (TimeSpan Time, int Calls)> ByNode =>
        _byNode.ToDictionary(kv => kv.Key, kv => (Stopwatch.GetElapsedTime(0, kv.Value.Ticks), kv.Value.Calls));

    /// <summary>Forgets what was collected (e.g. after warm-up steps).</summary>
    public void Reset() => _byNode.Clear();

    internal void Add(string node, long ticks)
    {
        _byNode.TryGetValue(node, out var entry);
        _byNode[node] = (entry.Ticks + ticks, entry.Calls + 1);
    }

    /// <summary>Stops collecting (restores the profile that was active before, if any).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        if (Environment.CurrentManagedThreadId != _threadId)
        {
            throw new InvalidOperationException("A BackwardProfile must be disposed on the thread that created it.");
        }
        _disposed = true;
        t_active = _previous;
    }
}
