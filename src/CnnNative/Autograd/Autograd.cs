namespace CnnNative;

/// <summary>
/// Grad mode of reverse-mode automatic differentiation. While grad mode is on (the default), every
/// <see cref="Functional"/> op with an input whose <see cref="Tensor.RequiresGrad"/> is true records a
/// node (<see cref="Tensor.GradFn"/>) so that <see cref="Tensor.Backward()"/> can compute gradients.
/// </summary>
/// <remarks>Grad mode belongs to the calling thread (like <see cref="Cnn.NumThreads"/>).</remarks>
public static class Autograd
{
    [ThreadStatic]
    private static int t_noGradDepth;

    /// <summary>Whether ops on the calling thread record the graph (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsEnabled => t_noGradDepth == 0;

    /// <summary>
    /// Turns recording off on the calling thread until the returned scope is disposed (PyTorch's
    /// <c>torch.no_grad()</c>): <c>using (Autograd.NoGrad()) { ... }</c>. Scopes nest; dispose each on the
    /// thread that created it. Disposing a scope twice does nothing.
    /// </summary>
    /// <returns>The scope; dispose it to restore the previous mode.</returns>
    public static IDisposable NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>
    /// Starts timing every backward node run on the calling thread, by node kind, until the returned profile is
    /// disposed (benchmarks' per-phase breakdown of a training step).
    /// </summary>
    /// <returns>The profile; read <see cref="BackwardProfile.ByNode"/>, dispose it to stop.</returns>
    public static BackwardProfile ProfileBackward() => new();

    /// <summary>Whether an op with these inputs records a node (grad mode on and any input requires grad).</summary>
    internal static bool ShouldRecord(Tensor a) => t_noGradDepth == 0 && a.RequiresGrad;

    /// <inheritdoc cref="ShouldRecord(Tensor)"/>
    internal static bool ShouldRecord(Tensor a, Tensor b) => t_noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <inheritdoc cref="ShouldRecord(Tensor)"/>
    internal static bool ShouldRecord(Tensor a, Tensor? b, Tensor? c) =>
        t_noGradDepth == 0 && (a.RequiresGrad || (b is not null && b.RequiresGrad) || (c is not null && c.RequiresGrad));

    private sealed class NoGradScope : IDisposable
    {
        private readonly int _threadId = Environment.CurrentManagedThreadId;
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            if (Environment.CurrentManagedThreadId != _threadId)
            {
                throw new InvalidOperationException("An Autograd.NoGrad() scope must be disposed on the thread that created it.");
            }

            _disposed = true;
            t_noGradDepth--;
        }
    }
}
