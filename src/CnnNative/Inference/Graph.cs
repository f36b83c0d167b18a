using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>The operators an <see cref="InferenceSession"/> can execute (one per traced <see cref="Functional"/> op).</summary>
internal enum OpKind
{
    Conv2d,
    Pool2d,
    GlobalAvgPool2d,
    BatchNorm2d,
    Activation,
    Linear,
    Softmax,
    Add,
    Mul,
    Clamp,
    AdaptiveAvgPool2d,
    ScaleShift,
    Concat,
    Narrow,

    /// <summary>Add / Mul with numpy broadcasting (<c>cnn_broadcast_binary_forward</c>): D0 the rank, D1 the op, shapes in the node.</summary>
    Broadcast,

    /// <summary>Step kind only: concat and narrow run as strided block copies (<c>cnn_copy_blocks</c>), one per input.</summary>
    CopyBlocks,
}

/// <summary>
/// One traced op: the values it reads and writes (SSA ids: every write makes a new value, so in-place ops in the
/// model are separate values here), its native parameters and its constants (copied at trace time).
/// </summary>
internal sealed class Node
{
    public Node(OpKind kind, string name, int[] inputs, int output)
    {
        Kind = kind;
        Name = name;
        Inputs = inputs;
        Output = output;
    }

    public OpKind Kind { get; set; }

    /// <summary>The Functional op that recorded it, for messages.</summary>
    public string Name { get; set; }

    public int[] Inputs { get; set; }

    public int Output { get; set; }

    /// <summary>The fused epilogue activation (conv, linear, batch norm, add) or the activation itself.</summary>
    public CnnActivation Activation { get; set; }

    public CnnConv2dParams Conv;

    public CnnPool2dParams Pool;

    public CnnBatchNorm2dParams BatchNorm;

    /// <summary>Conv/linear weight, or batch norm's gamma (null: 1).</summary>
    public float[]? Weight { get; set; }

    /// <summary>Conv/linear bias, or batch norm's beta (null: 0).</summary>
    public float[]? Bias { get; set; }

    /// <summary>Batch norm's running mean.</summary>
    public float[]? Mean { get; set; }

    /// <summary>Batch norm's running variance.</summary>
    public float[]? Variance { get; set; }

    /// <summary>
    /// Op-specific sizes: global pool (N, C, H, W); adaptive pool (N, C, H, W, OH, OW); linear (batch, in, out);
    /// softmax (outer, classes, inner, log).
    /// </summary>
    public int D0, D1, D2, D3, D4, D5;

    /// <summary>Clamp bounds.</summary>
    public float Min, Max;

    /// <summary>
    /// Block copies: outer count, destination stride and, per input (same order as <see cref="Inputs"/>), the block
    /// length, source stride, source offset and destination offset (elements).
    /// </summary>
    public long Outer, DstStride;

    /// <summary>Scale/shift's view [<see cref="Outer"/>, Channels, Inner] (scale and shift in Weight and Bias).</summary>
    public long Channels, Inner;

    /// <summary>Broadcast: the operands' shapes left-padded with 1s to the output's rank.</summary>
    public long[] AShape { get; set; } = [];

    /// <summary>Broadcast: see <see cref="AShape"/>.</summary>
    public long[] BShape { get; set; } = [];

    public long[] Blocks { get; set; } = [];

    public long[] SrcStrides { get; set; } = [];

    public long[] SrcOffsets { get; set; } = [];

    public long[] DstOffsets { get; set; } = [];

    /// <summary>Element count of element-wise ops (activation, add).</summary>
    public long Count { get; set; }

    public override string ToString() => $"{Name}({string.Join(", ", Inputs)}) -> {Output}";
}

/// <summary>A traced model: values 0 .. ValueLengths.Count-1 (value 0 is the input), nodes in execution order.</summary>
internal sealed class Graph
{
    public List<Node> Nodes { get; } = [];

    /// <summary>Element count of each value.</summary>
    public List<long> ValueLengths { get; } = [];

    public int InputValue { get; set; }

    public int OutputValue { get; set; } = -1;

    public int[] OutputShape { get; set; } = [];

    /// <summary>
    /// Values stored inside another value (a concat input written straight into its slice of the concat output):
    /// value -> (parent value, element offset in the parent).
    /// </summary>
    public Dictionary<int, (int Parent, long Offset)> Aliases { get; } = [];

    /// <summary>Values that are constants (tensors that existed before the trace, e.g. a model's own constant operand): their data.</summary>
    public Dictionary<int, float[]> Constants { get; } = [];

    public int AddValue(long length)
    {
        ValueLengths.Add(length);
        return ValueLengths.Count - 1;
    }

    /// <summary>How many nodes read each value, plus one for the model output.</summary>
    public int[] ConsumerCounts()
    {
        var counts = new int[ValueLengths.Count];
        foreach (Node node in Nodes)
        {
            foreach (int v in node.Inputs)
            {
                counts[v]++;
            }
        }

        counts[OutputValue]++;
        return counts;
    }
}
