using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// The one hook per <see cref="Functional"/> op: each op calls it after it computed its output, and it forwards
/// to the thread's <see cref="OpListener"/> (outside a listener a hook is a null check). <see cref="Recorder"/>
/// records the ops one forward pass runs, for <see cref="InferenceSession.Create"/>; <see cref="FunctionalRecorder"/>
/// builds the layer table of <c>cnn inspect</c>. A tensor is identified by its storage: an op's output storage becomes a new
/// value (in-place ops included), and views (reshape, flatten, eval-mode dropout, identity) share their
/// source's storage, so they cost nothing in the plan. A data input that is not a traced value is a constant
/// if its tensor existed before the trace (a model's own constant operand), and unsupported if it was
/// allocated during the trace (made in Forward, or by an op the tracer does not know). Weights, statistics
/// and constants are copied when recorded, so the session does not see later changes to the module.
/// </summary>
internal static class Trace
{
    [ThreadStatic]
    private static OpListener? t_listener;

    /// <summary>Starts recording on this thread with <paramref name="input"/> as value 0.</summary>
    internal static Recorder Begin(Tensor input)
    {
        if (t_listener is not null)
        {
            throw new InvalidOperationException("A trace is already running on this thread (InferenceSession.Create is not reentrant).");
        }

        var recorder = new Recorder(input);
        t_listener = recorder;
        return recorder;
    }

    /// <summary>Stops recording on this thread.</summary>
    internal static void End() => t_listener = null;

    /// <summary>Sends this thread's ops to <paramref name="listener"/> until the result is disposed (then to the previous listener).</summary>
    internal static IDisposable Listen(OpListener listener)
    {
        OpListener? previous = t_listener;
        t_listener = listener;
        return new Restore(previous);
    }

    internal static void Conv2d(in CnnConv2dParams p, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output) =>
        t_listener?.Conv2d(p, input, weight, bias, activation, output);

    internal static void Pool2d(in CnnPool2dParams p, Tensor input, Tensor output) => t_listener?.Pool2d(p, input, output);

    internal static void GlobalAvgPool2d(Tensor input, Tensor output) => t_listener?.GlobalAvgPool2d(input, output);

    internal static void BatchNorm2d(in CnnBatchNorm2dParams p, Tensor input, Tensor mean, Tensor variance, Tensor? weight, Tensor? bias,
        Activation activation, Tensor output) =>
        t_listener?.BatchNorm2d(p, input, mean, variance, weight, bias, activation, output);

    internal static void Activation(Activation activation, Tensor input, Tensor output) => t_listener?.Activation(activation, input, output);

    internal static void Linear(int batch, int inFeatures, int outFeatures, Tensor input, Tensor weight, Tensor? bias, Activation activation,
        Tensor output) =>
        t_listener?.Linear(batch, inFeatures, outFeatures, input, weight, bias, activation, output);

    internal static void Softmax(int outer, int classes, int inner, bool log, Tensor input, Tensor output) =>
        t_listener?.Softmax(outer, classes, inner, log, input, output);

    internal static void Add(Tensor a, Tensor b, Activation activation, Tensor output) => t_listener?.Add(a, b, activation, output);

    internal static void Mul(Tensor a, Tensor b, Tensor output) => t_listener?.Mul(a, b, output);

    internal static void Clamp(float min, float max, Tensor input, Tensor output) => t_listener?.Clamp(min, max, input, output);

    internal static void Broadcast(CnnBinaryOp op, Tensor a, Tensor b, Tensor output) => t_listener?.Broadcast(op, a, b, output);

    internal static void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor output) => t_listener?.Concat(inputs, dim, output);

    internal static void Narrow(long outer, long block, long srcStride, long offset, Tensor input, Tensor output) =>
        t_listener?.Narrow(outer, block, srcStride, offset, input, output);

    internal static void AdaptiveAvgPool2d(Tensor input, Tensor output) => t_listener?.AdaptiveAvgPool2d(input, output);

    internal static void ScaleShift(long outer, long channels, long inner, float[]? scale, float[]? shift, Tensor? scaleTensor, Tensor? shiftTensor,
        Tensor input, Tensor output) =>
        t_listener?.ScaleShift(outer, channels, inner, scale, shift, scaleTensor, shiftTensor, input, output);

    /// <summary>An op an inference session cannot run (training ops, losses): throws while tracing.</summary>
    internal static void Unsupported(string op) => t_listener?.Unsupported(op);

    /// <summary>
    /// Element access to a tensor (<c>AsSpan</c>, <c>ToArray</c>, <c>CopyTo</c>, <c>CopyFrom</c>, ...): on a traced value
    /// it means data-dependent control flow or computation outside the ops, which a trace cannot replay.
    /// </summary>
    internal static void Access(Tensor tensor, string what) => t_listener?.Access(tensor, what);

    /// <summary>A named group of ops (an ONNX node) starts; see <see cref="OpListener.BeginNode"/>.</summary>
    internal static void BeginNode(string name, string op) => t_listener?.BeginNode(name, op);

    /// <summary>The node begun last produced <paramref name="result"/>.</summary>
    internal static void EndNode(Tensor result) => t_listener?.EndNode(result);

    private sealed class Restore(OpListener? previous) : IDisposable
    {
        public void Dispose() => t_listener = previous;
    }

    /// <summary>Builds the <see cref="Graph"/> of one trace.</summary>
    internal sealed class Recorder : OpListener
    {
        private readonly Dictionary<NativeBuffer, int> _valueOf = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<NativeBuffer, int> _constantOf = new(ReferenceEqualityComparer.Instance);
        private readonly long _firstSerial = NativeBuffer.NextSerial; // storage from here on was allocated during the trace (any thread)

        public Recorder(Tensor input)
        {
            Graph.InputValue = Define(input);
        }

        public Graph Graph { get; } = new();

        /// <summary>Marks the model's output; it must be a traced value other than the input.</summary>
        public void Finish(Tensor output)
        {
            if (!_valueOf.TryGetValue(output.Storage, out int value))
            {
                throw NotSupported(
                    $"the model's output {Tensor.FormatShape(output.Dims)} was not computed by a traced op " +
                    "(an op the tracer does not know, or a tensor created in Forward).");
            }

            if (value == Graph.InputValue)
            {
                throw NotSupported("the model returns its input unchanged; there is nothing to compile.");
            }

            Graph.OutputValue = value;
            Graph.OutputShape = output.Shape;
        }

        public override void Conv2d(in CnnConv2dParams p, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output)
        {
            const string op = "Functional.Conv2d";
            Node node = Add(OpKind.Conv2d, op, output, Data(input, op));
            node.Conv = p;
            node.Activation = (CnnActivation)activation;
            node.Weight = Constant(weight, op, nameof(weight));
            node.Bias = Constant(bias, op, nameof(bias));
        }

        public override void Pool2d(in CnnPool2dParams p, Tensor input, Tensor output)
        {
            string op = "Functional." + p.Kind switch { CnnPoolKind.Max => "MaxPool2d", CnnPoolKind.Average => "AvgPool2d", _ => "LpPool2d" };
            Add(OpKind.Pool2d, op, output, Data(input, op)).Pool = p;
        }

        public override void GlobalAvgPool2d(Tensor input, Tensor output)
        {
            const string op = "Functional.GlobalAvgPool2d";
            Node node = Add(OpKind.GlobalAvgPool2d, op, output, Data(input, op));
            ReadOnlySpan<int> s = input.Dims;
            (node.D0, node.D1, node.D2, node.D3) = (s[0], s[1], s[2], s[3]);
        }

        public override void BatchNorm2d(in CnnBatchNorm2dParams p, Tensor input, Tensor mean, Tensor variance, Tensor? weight, Tensor? bias,
            Activation activation, Tensor output)
        {
            const string op = "Functional.BatchNorm2d";
            Node node = Add(OpKind.BatchNorm2d, op, output, Data(input, op));
            node.BatchNorm = p;
            node.Activation = (CnnActivation)activation;
            node.Mean = Constant(mean, op, "runningMean");
            node.Variance = Constant(variance, op, "runningVar");
            node.Weight = Constant(weight, op, nameof(weight));
            node.Bias = Constant(bias, op, nameof(bias));
        }

        public override void Activation(Activation activation, Tensor input, Tensor output)
        {
            string op = "Functional." + (activation == CnnNative.Activation.None ? "Activate" : activation.ToString());
            Node node = Add(OpKind.Activation, op, output, Data(input, op));
            node.Activation = (CnnActivation)activation;
            node.Count = input.Length;
        }

        public override void Linear(int batch, int inFeatures, int outFeatures, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output)
        {
            const string op = "Functional.Linear";
            Node node = Add(OpKind.Linear, op, output, Data(input, op));
            (node.D0, node.D1, node.D2) = (batch, inFeatures, outFeatures);
            node.Activation = (CnnActivation)activation;
            node.Weight = Constant(weight, op, nameof(weight));
            node.Bias = Constant(bias, op, nameof(bias));
        }

        public override void Softmax(int outer, int classes, int inner, bool log, Tensor input, Tensor output)
        {
            string op = log ? "Functional.LogSoftmax" : "Functional.Softmax";
            Node node = Add(OpKind.Softmax, op, output, Data(input, op));
            (node.D0, node.D1, node.D2, node.D3) = (outer, classes, inner, log ? 1 : 0);
        }

        public override void Add(Tensor a, Tensor b, Activation activation, Tensor output)
        {
            const string op = "Functional.Add";
            Node node = Add(OpKind.Add, op, output, Data(a, op), Data(b, op));
            node.Activation = (CnnActivation)activation;
            node.Count = a.Length;
        }

        public override void Mul(Tensor a, Tensor b, Tensor output)
        {
            const string op = "Functional.Mul";
            Add(OpKind.Mul, op, output, Data(a, op), Data(b, op)).Count = a.Length;
        }

        public override void Clamp(float min, float max, Tensor input, Tensor output)
        {
            const string op = "Functional.Clamp";
            Node node = Add(OpKind.Clamp, op, output, Data(input, op));
            (node.Min, node.Max, node.Count) = (min, max, input.Length);
        }

        public override void Broadcast(CnnBinaryOp op, Tensor a, Tensor b, Tensor output)
        {
            string name = "Functional.Broadcast" + op;
            Node node = Add(OpKind.Broadcast, name, output, Data(a, name), Data(b, name));
            int rank = output.Rank;
            node.AShape = Aligned(a.Dims, rank);
            node.BShape = Aligned(b.Dims, rank);
            (node.D0, node.D1, node.Count) = (rank, (int)op, output.Length);
        }

        /// <summary>A shape left-padded with 1s to <paramref name="rank"/> (numpy broadcasting's alignment).</summary>
        private static long[] Aligned(ReadOnlySpan<int> shape, int rank)
        {
            var aligned = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                int j = i - (rank - shape.Length);
                aligned[i] = j >= 0 ? shape[j] : 1;
            }

            return aligned;
        }

        public override void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor output)
        {
            const string op = "Functional.Concat";
            ReadOnlySpan<int> shape = output.Dims;
            int d = Tensor.NormalizeDim(dim, shape.Length, nameof(dim));
            long outer = 1, inner = 1;
            for (int i = 0; i < shape.Length; i++)
            {
                if (i < d)
                {
                    outer *= shape[i];
                }
                else if (i > d)
                {
                    inner *= shape[i];
                }
            }

            var values = new int[inputs.Count];
            var blocks = new long[inputs.Count];
            var dstOffsets = new long[inputs.Count];
            long offset = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                values[i] = Data(inputs[i], op);
                blocks[i] = inputs[i].Dims[d] * inner;
                dstOffsets[i] = offset;
                offset += blocks[i];
            }

            Node node = Add(OpKind.Concat, op, output, values);
            (node.Outer, node.DstStride, node.Blocks, node.SrcStrides, node.SrcOffsets, node.DstOffsets) =
                (outer, offset, blocks, blocks, new long[inputs.Count], dstOffsets);
        }

        public override void Narrow(long outer, long block, long srcStride, long offset, Tensor input, Tensor output)
        {
            const string op = "Functional.Narrow";
            Node node = Add(OpKind.Narrow, op, output, Data(input, op));
            (node.Outer, node.DstStride, node.Blocks, node.SrcStrides, node.SrcOffsets, node.DstOffsets) =
                (outer, block, [block], [srcStride], [offset], [0]);
        }

        public override void AdaptiveAvgPool2d(Tensor input, Tensor output)
        {
            const string op = "Functional.AdaptiveAvgPool2d";
            Node node = Add(OpKind.AdaptiveAvgPool2d, op, output, Data(input, op));
            ReadOnlySpan<int> s = input.Dims, o = output.Dims;
            (node.D0, node.D1, node.D2, node.D3, node.D4, node.D5) = (s[0], s[1], s[2], s[3], o[2], o[3]);
        }

        public override void ScaleShift(long outer, long channels, long inner, float[]? scale, float[]? shift, Tensor? scaleTensor, Tensor? shiftTensor,
            Tensor input, Tensor output)
        {
            const string op = "Functional.ScaleShift";
            Node node = Add(OpKind.ScaleShift, op, output, Data(input, op));
            (node.Outer, node.Channels, node.Inner) = (outer, channels, inner);
            node.Weight = (float[]?)scale?.Clone();
            node.Bias = (float[]?)shift?.Clone();
        }

        public override void Unsupported(string op) =>
            throw NotSupported($"{op} is not supported in an inference session (it has no inference-time equivalent).");

        public override void Access(Tensor tensor, string what)
        {
            if (_valueOf.ContainsKey(tensor.Storage))
            {
                throw NotSupported(
                    $"{what} on a tensor computed from the input ({Tensor.FormatShape(tensor.Dims)}): element access in Forward " +
                    "(data-dependent control flow or computation outside Functional) cannot be replayed by a trace.");
            }
        }

        internal static NotSupportedException NotSupported(string message) =>
            new("InferenceSession: " + message);

        /// <summary>Appends a node whose output is a new value held by <paramref name="output"/>'s storage (inputs are looked up first).</summary>
        private Node Add(OpKind kind, string name, Tensor output, params int[] inputs)
        {
            var node = new Node(kind, name, inputs, Define(output));
            Graph.Nodes.Add(node);
            return node;
        }

        private int Define(Tensor tensor)
        {
            int value = Graph.AddValue(tensor.Length);
            _valueOf[tensor.Storage] = value;
            return value;
        }

        /// <summary>
        /// The value a data input holds: a traced value (as a whole), or a constant value for a tensor that existed
        /// before the trace.
        /// </summary>
        private int Data(Tensor tensor, string op)
        {
            if (!_valueOf.TryGetValue(tensor.Storage, out int value))
            {
                if (tensor.Storage.Serial >= _firstSerial)
                {
                    throw NotSupported(
                        $"{op} reads a tensor {Tensor.FormatShape(tensor.Dims)} that was not computed from the input by traced ops " +
                        "(it comes from an op the tracer does not know, or was created in Forward).");
                }

                if (!_constantOf.TryGetValue(tensor.Storage, out value))
                {
                    value = Graph.AddValue(tensor.Length);
                    Graph.Constants[value] = Constant(tensor, op, "constant operand")!;
                    _constantOf[tensor.Storage] = value;
                }
            }

            if (Graph.ValueLengths[value] != tensor.Length)
            {
                throw NotSupported($"{op} reads a part of a traced tensor ({tensor.Length} of {Graph.ValueLengths[value]} elements).");
            }

            return value;
        }

        /// <summary>A copy of a weight or statistic; it must not depend on the input.</summary>
        private float[]? Constant(Tensor? tensor, string op, string role)
        {
            if (tensor is null)
            {
                return null;
            }

            if (_valueOf.ContainsKey(tensor.Storage))
            {
                throw NotSupported($"{op}'s {role} is computed from the input; only constant weights can be compiled.");
            }

            var copy = GC.AllocateUninitializedArray<float>(checked((int)tensor.Length));
            tensor.CopyTo(copy);
            return copy;
        }
    }
}
