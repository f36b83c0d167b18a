namespace CnnNative;

/// <summary>One Functional op observed by <see cref="FunctionalRecorder"/>.</summary>
/// <param name="Op">The Functional op (Conv2d, Linear, Relu, MaxPool2d, ...).</param>
/// <param name="Scope">The scope it ran in (an ONNX node name), or null.</param>
/// <param name="ScopeOp">The scope's operator (an ONNX op type), or null.</param>
/// <param name="OutputShape">The output's shape.</param>
/// <param name="Parameters">The weight and bias tensors it read (not copies; do not dispose).</param>
/// <param name="Macs">Multiply-accumulates (convolutions and linear layers; 0 for others).</param>
internal sealed record FunctionalRecord(string Op, string? Scope, string? ScopeOp, int[] OutputShape, Tensor[] Parameters, long Macs);

/// <summary>
/// Lets a caller observe the Functional ops run on its thread (the layer table of <c>cnn inspect</c>):
/// each op reports its output shape, parameters and MACs to the list given to <see cref="Start"/>.
/// Costs one thread-static null check per op when nobody records.
/// </summary>
internal static class FunctionalRecorder
{
    [ThreadStatic]
    private static List<FunctionalRecord>? t_sink;

    [ThreadStatic]
    private static (string Name, string Op)? t_scope;

    /// <summary>Records the ops of this thread into <paramref name="sink"/> until the result is disposed.</summary>
    public static IDisposable Start(List<FunctionalRecord> sink)
    {
        List<FunctionalRecord>? previous = t_sink;
        t_sink = sink;
        return new Restore(() => t_sink = previous);
    }

    /// <summary>Names the ops run until the result is disposed (an ONNX node); nothing if nobody records.</summary>
    public static IDisposable? BeginScope(string name, string op)
    {
        if (t_sink == null)
            return null;
        var previous = t_scope;
        t_scope = (name, op);
        return new Restore(() => t_scope = previous);
    }

    /// <summary>Called by each Functional op after it wrote its output.</summary>
    public static void Record(string op, Tensor output, Tensor? weight = null, Tensor? bias = null, long macs = 0)
    {
        List<FunctionalRecord>? sink = t_sink;
        if (sink == null)
            return;
        Tensor[] parameters = weight == null ? [] : bias == null ? [weight] : [weight, bias];
        if (weight == null && bias != null)
            parameters = [bias];
        sink.Add(new FunctionalRecord(op, t_scope?.Name, t_scope?.Op, output.Shape, parameters, macs));
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
