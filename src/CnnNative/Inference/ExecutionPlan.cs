using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>Where a step reads or writes: the caller's input, the caller's output, or a byte offset in the arena.</summary>
internal enum OperandKind
{
    Arena,
    Input,
    Output,

    /// <summary>The session's constant buffer (a constant operand).</summary>
    Constant,
}

/// <summary>A byte offset from the start of the caller's input, the caller's output, the arena or the constants.</summary>
internal readonly record struct Operand(OperandKind Kind, long Offset);

/// <summary>
/// One native call with everything precomputed: operands, parameter structs, constant offsets (in floats into
/// the session's constant buffer, -1 for none). A Conv2d step has none: its weights and bias live in its
/// prepacked plan only (<see cref="ExecutionPlan.ConvWeights"/>).
/// </summary>
internal struct Step
{
    public OpKind Kind;
    public CnnActivation Activation;
    public Operand In0, In1, Out;
    public long Weight, Bias, Mean, Variance;
    public CnnConv2dParams Conv;
    public CnnPool2dParams Pool;
    public CnnBatchNorm2dParams BatchNorm;
    public int D0, D1, D2, D3, D4, D5;
    public float Min, Max;

    /// <summary>Element count (activation, add, clamp), channels (scale/shift), block length (copy).</summary>
    public long Count;
    public long Outer, Inner, SrcStride, DstStride;
    public BroadcastShapes Shapes;
}

/// <summary>A broadcast step's operand shapes (rank in D0), inline so a run reads them without a lookup.</summary>
internal unsafe struct BroadcastShapes
{
    /// <summary>CNN_BROADCAST_MAX_RANK.</summary>
    public const int MaxRank = 8;

    public fixed long A[MaxRank];
    public fixed long B[MaxRank];

    public static BroadcastShapes Of(Node n)
    {
        var s = default(BroadcastShapes);
        for (int i = 0; i < n.AShape.Length; i++)
        {
            s.A[i] = n.AShape[i];
            s.B[i] = n.BShape[i];
        }

        return s;
    }
}

/// <summary>An optimised graph lowered to steps, constants and an arena layout.</summary>
internal sealed unsafe class ExecutionPlan
{
    private (float[] Weight, float[]? Bias)[]? _convWeights;

    private ExecutionPlan(Step[] steps, string[] names, (float[] Weight, float[]? Bias)[] convWeights, NativeBuffer constants, long constantBytes,
        long arenaBytes, long intermediateBytes)
    {
        Steps = steps;
        Names = names;
        _convWeights = convWeights;
        Constants = constants;
        ConstantBytes = constantBytes;
        ArenaBytes = arenaBytes;
        IntermediateBytes = intermediateBytes;
    }

    /// <summary>Pinned (pinned object heap), so a run takes its address without a <c>fixed</c> per step.</summary>
    public Step[] Steps { get; }

    public string[] Names { get; }

    /// <summary>
    /// Every weight and statistic the steps read, 64-byte aligned, in one native buffer (the session owns and disposes it).
    /// Convolution weights and biases are not in it: each conv plan keeps its own (packed) copy, so holding them here
    /// too would double the largest part of a CNN's memory.
    /// </summary>
    public NativeBuffer Constants { get; }

    /// <summary>
    /// The folded weights and bias of each Conv2d step (by step index; default elsewhere), managed, to create the
    /// conv plans from; <see cref="ReleaseConvWeights"/> drops them once the plans hold their copies.
    /// </summary>
    public (float[] Weight, float[]? Bias)[] ConvWeights =>
        _convWeights ?? throw new InvalidOperationException("the conv weights were released after the conv plans were created.");

    /// <summary>Lets the garbage collector take the conv weights (the plans have copied them).</summary>
    public void ReleaseConvWeights() => _convWeights = null;

    public long ConstantBytes { get; }

    public long ArenaBytes { get; }

    /// <summary>Sum of the (aligned) sizes of all intermediate values: the memory without reuse.</summary>
    public long IntermediateBytes { get; }

    public static ExecutionPlan Compile(Graph graph)
    {
        List<Node> nodes = graph.Nodes;

        // Lifetimes in node indices, each alias's merged into the value that holds it (its root).
        var first = new Dictionary<int, int>();
        var last = new Dictionary<int, int>();
        void Touch(int value, int index)
        {
            if (graph.Constants.ContainsKey(value))
            {
                return;
            }

            (int root, _) = Root(graph, value);
            first[root] = Math.Min(first.GetValueOrDefault(root, index), index);
            last[root] = Math.Max(last.GetValueOrDefault(root, index), index);
        }

        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (int v in nodes[i].Inputs)
            {
                Touch(v, i);
            }

            Touch(nodes[i].Output, i);
        }

        var arenaValues = first.Keys.Where(v => v != graph.OutputValue && v != graph.InputValue).Order().ToList();
        var intervals = arenaValues
            .Select(v => new MemoryPlanner.Interval(graph.ValueLengths[v] * sizeof(float), first[v], last[v])).ToList();
        (long[] offsets, long arenaBytes) = MemoryPlanner.Plan(intervals);
        var offsetOf = new Dictionary<int, long>();
        for (int i = 0; i < arenaValues.Count; i++)
        {
            offsetOf[arenaValues[i]] = offsets[i];
        }

        var constantOffsets = new Dictionary<int, long>();
        Operand At(int value, long elementOffset = 0)
        {
            if (graph.Constants.TryGetValue(value, out float[]? data))
            {
                if (!constantOffsets.TryGetValue(value, out long placedAt))
                {
                    constantOffsets[value] = placedAt = Constant(data);
                }

                return new Operand(OperandKind.Constant, (placedAt + elementOffset) * sizeof(float));
            }

            (int root, long offset) = Root(graph, value);
            long bytes = (offset + elementOffset) * sizeof(float);
            return root == graph.InputValue ? new Operand(OperandKind.Input, bytes)
                : root == graph.OutputValue ? new Operand(OperandKind.Output, bytes)
                : new Operand(OperandKind.Arena, offsetOf[root] + bytes);
        }

        // Constants: offsets first (64-byte aligned), then one native buffer filled in place.
        long constantFloats = 0;
        long Place(float[]? data)
        {
            if (data is null)
            {
                return -1;
            }

            long offset = MemoryPlanner.AlignUp(constantFloats * sizeof(float)) / sizeof(float);
            constantFloats = offset + data.Length;
            return offset;
        }

        var steps = new List<Step>(nodes.Count);
        var convWeights = new List<(float[] Weight, float[]? Bias)>(nodes.Count);
        var names = new List<string>(nodes.Count);
        var placed = new List<(float[] Data, long Offset)>();
        long Constant(float[]? data)
        {
            long offset = Place(data);
            if (data is not null)
            {
                placed.Add((data, offset));
            }

            return offset;
        }

        foreach (Node n in nodes)
        {
            if (n.Kind is OpKind.Concat or OpKind.Narrow)
            {
                for (int i = 0; i < n.Inputs.Length; i++)
                {
                    steps.Add(new Step
                    {
                        Kind = OpKind.CopyBlocks,
                        In0 = At(n.Inputs[i], n.SrcOffsets[i]),
                        Out = At(n.Output, n.DstOffsets[i]),
                        Outer = n.Outer,
                        Count = n.Blocks[i],
                        SrcStride = n.SrcStrides[i],
                        DstStride = n.DstStride,
                    });
                    names.Add(n.Name);
                    convWeights.Add(default);
                }

                continue;
            }

            // A conv's weights go to its plan only (see Constants).
            bool conv = n.Kind == OpKind.Conv2d;
            convWeights.Add(conv ? (n.Weight!, n.Bias) : default);
            steps.Add(new Step
            {
                Kind = n.Kind,
                Activation = n.Activation,
                In0 = At(n.Inputs[0]),
                In1 = n.Inputs.Length > 1 ? At(n.Inputs[1]) : default,
                Out = At(n.Output),
                Weight = conv ? -1 : Constant(n.Weight),
                Bias = conv ? -1 : Constant(n.Bias),
                Mean = Constant(n.Mean),
                Variance = Constant(n.Variance),
                Conv = n.Conv,
                Pool = n.Pool,
                BatchNorm = n.BatchNorm,
                D0 = n.D0,
                D1 = n.D1,
                D2 = n.D2,
                D3 = n.D3,
                D4 = n.D4,
                D5 = n.D5,
                Min = n.Min,
                Max = n.Max,
                Count = n.Kind == OpKind.ScaleShift ? n.Channels : n.Count,
                Outer = n.Outer,
                Inner = n.Inner,
                Shapes = n.Kind == OpKind.Broadcast ? BroadcastShapes.Of(n) : default,
            });
            names.Add(Describe(n));
        }

        long constantBytes = Math.Max(constantFloats, 1) * sizeof(float); // what is allocated (a model may have none)
        NativeBuffer constants = NativeBuffer.Allocate(constantBytes);
        float* k = (float*)constants.DangerousGetHandle();
        foreach ((float[] data, long offset) in placed)
        {
            data.CopyTo(new Span<float>(k + offset, data.Length));
        }

        Step[] pinned = GC.AllocateArray<Step>(steps.Count, pinned: true);
        steps.CopyTo(pinned);
        long intermediate = intervals.Sum(v => MemoryPlanner.AlignUp(v.Bytes));
        return new ExecutionPlan(pinned, [.. names], [.. convWeights], constants, constantBytes, arenaBytes, intermediate);
    }

    /// <summary>The value whose storage holds <paramref name="value"/>, and the element offset in it.</summary>
    private static (int Root, long Offset) Root(Graph graph, int value)
    {
        long offset = 0;
        while (graph.Aliases.TryGetValue(value, out var alias))
        {
            (value, offset) = (alias.Parent, offset + alias.Offset);
        }

        return (value, offset);
    }

    private static string Describe(Node n) =>
        n.Activation != CnnActivation.None && n.Kind != OpKind.Activation ? $"{n.Name}+{n.Activation}" : n.Name;
}
