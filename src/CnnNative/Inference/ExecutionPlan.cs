using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>Where a step reads or writes: the caller's input, the caller's output, or a byte offset in the arena.</summary>
internal enum OperandKind
{
    Arena,
    Input,
    Output,
}

internal readonly record struct Operand(OperandKind Kind, long Offset);

/// <summary>
/// One native call with everything precomputed: operands, parameter structs, constant offsets (in floats into
/// the session's constant buffer, -1 for none).
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
    public int D0, D1, D2, D3;
    public long Count;
}

/// <summary>An optimised graph lowered to steps, constants and an arena layout.</summary>
internal sealed unsafe class ExecutionPlan
{
    private ExecutionPlan(Step[] steps, string[] names, NativeBuffer constants, long constantBytes, long arenaBytes, long intermediateBytes)
    {
        Steps = steps;
        Names = names;
        Constants = constants;
        ConstantBytes = constantBytes;
        ArenaBytes = arenaBytes;
        IntermediateBytes = intermediateBytes;
    }

    /// <summary>Pinned (pinned object heap), so a run takes its address without a <c>fixed</c> per step.</summary>
    public Step[] Steps { get; }

    public string[] Names { get; }

    /// <summary>Every weight and statistic, 64-byte aligned, in one native buffer (the session owns and disposes it).</summary>
    public NativeBuffer Constants { get; }

    public long ConstantBytes { get; }

    public long ArenaBytes { get; }

    /// <summary>Sum of the (aligned) sizes of all intermediate values: the memory without reuse.</summary>
    public long IntermediateBytes { get; }

    public static ExecutionPlan Compile(Graph graph)
    {
        List<Node> nodes = graph.Nodes;

        // Lifetimes of the arena values (every value but the caller's input and output), in step indices.
        var first = new Dictionary<int, int>();
        var last = new Dictionary<int, int>();
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (int v in nodes[i].Inputs)
            {
                last[v] = i;
            }

            first[nodes[i].Output] = i;
            last.TryAdd(nodes[i].Output, i);
        }

        var arenaValues = first.Keys.Where(v => v != graph.OutputValue).Order().ToList();
        var intervals = arenaValues
            .Select(v => new MemoryPlanner.Interval(graph.ValueLengths[v] * sizeof(float), first[v], last[v])).ToList();
        (long[] offsets, long arenaBytes) = MemoryPlanner.Plan(intervals);
        var offsetOf = new Dictionary<int, long>();
        for (int i = 0; i < arenaValues.Count; i++)
        {
            offsetOf[arenaValues[i]] = offsets[i];
        }

        Operand At(int value) =>
            value == graph.InputValue ? new Operand(OperandKind.Input, 0)
            : value == graph.OutputValue ? new Operand(OperandKind.Output, 0)
            : new Operand(OperandKind.Arena, offsetOf[value]);

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

        Step[] steps = GC.AllocateArray<Step>(nodes.Count, pinned: true);
        for (int i = 0; i < nodes.Count; i++)
        {
            Node n = nodes[i];
            steps[i] = new Step
            {
                Kind = n.Kind,
                Activation = n.Activation,
                In0 = At(n.Inputs[0]),
                In1 = n.Inputs.Length > 1 ? At(n.Inputs[1]) : default,
                Out = At(n.Output),
                Weight = Place(n.Weight),
                Bias = Place(n.Bias),
                Mean = Place(n.Mean),
                Variance = Place(n.Variance),
                Conv = n.Conv,
                Pool = n.Pool,
                BatchNorm = n.BatchNorm,
                D0 = n.D0,
                D1 = n.D1,
                D2 = n.D2,
                D3 = n.D3,
                Count = n.Count,
            };
        }

        NativeBuffer constants = NativeBuffer.Allocate(Math.Max(constantFloats, 1) * sizeof(float));
        float* k = (float*)constants.DangerousGetHandle();
        for (int i = 0; i < nodes.Count; i++)
        {
            Node n = nodes[i];
            Step s = steps[i];
            (float[]? Data, long Offset)[] placed = [(n.Weight, s.Weight), (n.Bias, s.Bias), (n.Mean, s.Mean), (n.Variance, s.Variance)];
            foreach ((float[]? data, long offset) in placed)
            {
                data?.CopyTo(new Span<float>(k + offset, data.Length));
            }
        }

        long intermediate = intervals.Sum(v => MemoryPlanner.AlignUp(v.Bytes));
        return new ExecutionPlan(steps, nodes.Select(Describe).ToArray(), constants, constantFloats * sizeof(float), arenaBytes, intermediate);
    }

    private static string Describe(Node n) =>
        n.Activation != CnnActivation.None && n.Kind != OpKind.Activation ? $"{n.Name}+{n.Activation}" : n.Name;
}
