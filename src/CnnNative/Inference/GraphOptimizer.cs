using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// Rewrites a traced <see cref="Graph"/> for inference: batch norm folded into the convolution before it, a lone
/// activation (clamp(0, 6) counts as ReLU6) fused into the epilogue of the op that produced its input, concat
/// inputs computed straight into their slice of the concat output, and contiguous narrows read in place. All only when the intermediate value has no other
/// reader (and is not the model output), so no one can observe the change.
/// </summary>
internal static class GraphOptimizer
{
    public static void Optimize(Graph graph, bool foldBatchNorm, bool fuseActivations)
    {
        if (foldBatchNorm)
        {
            Fuse(graph, OpKind.BatchNorm2d, static (producer, bn) => producer.Kind == OpKind.Conv2d && producer.Activation == CnnActivation.None,
                FoldBatchNorm);
        }

        foreach (Node node in graph.Nodes.Where(n => n.Kind == OpKind.Clamp && n.Min == 0 && n.Max == 6))
        {
            (node.Kind, node.Name, node.Activation) = (OpKind.Activation, "Functional.Relu6", CnnActivation.Relu6);
        }

        if (fuseActivations)
        {
            Fuse(graph, OpKind.Activation, static (producer, act) => act.Activation != CnnActivation.None &&
                producer.Activation == CnnActivation.None && producer.Kind is OpKind.Conv2d or OpKind.Linear or OpKind.BatchNorm2d or OpKind.Add,
                static (producer, act) => producer.Activation = act.Activation);
        }

        ElideConcats(graph);
        ElideNarrows(graph);
    }

    /// <summary>
    /// A narrow of one contiguous slice (outer 1) is a view: its output becomes an alias of that slice of its input
    /// (values are never overwritten, so the slice holds the data as long as the narrow's readers need it). Not for
    /// the model output, which must land in the caller's buffer.
    /// </summary>
    private static void ElideNarrows(Graph graph) =>
        graph.Nodes.RemoveAll(node =>
        {
            if (node.Kind != OpKind.Narrow || node.Outer != 1 || node.Output == graph.OutputValue || graph.Aliases.ContainsKey(node.Output) ||
                graph.Constants.ContainsKey(node.Inputs[0]))
            {
                return false;
            }

            graph.Aliases[node.Output] = (node.Inputs[0], node.SrcOffsets[0]);
            return true;
        });

    /// <summary>
    /// A concat of contiguous slices (everything before the concat dimension is 1, e.g. channels at batch 1): each
    /// input with no other reader, computed by a node, becomes an alias of its slice of the output, so its producer
    /// writes there and no copy runs. Inputs that do not qualify keep their copy.
    /// </summary>
    private static void ElideConcats(Graph graph)
    {
        int[] readers = graph.ConsumerCounts();
        var produced = graph.Nodes.Select(n => n.Output).ToHashSet();
        graph.Nodes.RemoveAll(node =>
        {
            if (node.Kind != OpKind.Concat || node.Outer != 1)
            {
                return false;
            }

            var copied = new List<int>();
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                int v = node.Inputs[i];
                if (produced.Contains(v) && readers[v] == 1 && !graph.Aliases.ContainsKey(v))
                {
                    graph.Aliases[v] = (node.Output, node.DstOffsets[i]);
                }
                else
                {
                    copied.Add(i);
                }
            }

            node.Inputs = copied.Select(i => node.Inputs[i]).ToArray();
            node.Blocks = copied.Select(i => node.Blocks[i]).ToArray();
            node.SrcStrides = copied.Select(i => node.SrcStrides[i]).ToArray();
            node.SrcOffsets = copied.Select(i => node.SrcOffsets[i]).ToArray();
            node.DstOffsets = copied.Select(i => node.DstOffsets[i]).ToArray();
            return copied.Count == 0;
        });
    }

    /// <summary>
    /// For each node of <paramref name="kind"/> whose single input has exactly one reader and is written by a node
    /// accepted by <paramref name="canAbsorb"/>: <paramref name="absorb"/> it into that producer, which then writes
    /// the node's output, and drop it.
    /// </summary>
    private static void Fuse(Graph graph, OpKind kind, Func<Node, Node, bool> canAbsorb, Action<Node, Node> absorb)
    {
        int[] readers = graph.ConsumerCounts();
        var producerOf = new Dictionary<int, Node>();
        foreach (Node node in graph.Nodes)
        {
            producerOf[node.Output] = node;
        }

        var kept = new List<Node>(graph.Nodes.Count);
        foreach (Node node in graph.Nodes)
        {
            if (node.Kind == kind && node.Inputs.Length == 1 && readers[node.Inputs[0]] == 1 &&
                producerOf.TryGetValue(node.Inputs[0], out Node? producer) && canAbsorb(producer, node))
            {
                absorb(producer, node);
                producer.Output = node.Output;
                producerOf[node.Output] = producer;
                continue;
            }

            kept.Add(node);
        }

        graph.Nodes.Clear();
        graph.Nodes.AddRange(kept);
    }

    /// <summary>
    /// conv then batch norm (running statistics) as one conv: with s = gamma / sqrt(var + eps) per output channel,
    /// W' = W * s and b' = (b - mean) * s + beta, computed in double. The batch norm's activation moves to the conv.
    /// </summary>
    private static void FoldBatchNorm(Node conv, Node bn)
    {
        int channels = conv.Conv.OutChannels;
        float[] weight = conv.Weight!;
        int perChannel = weight.Length / channels;
        var bias = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double gamma = bn.Weight?[c] ?? 1.0;
            double beta = bn.Bias?[c] ?? 0.0;
            double scale = gamma / Math.Sqrt(bn.Variance![c] + (double)bn.BatchNorm.Epsilon);
            for (int i = c * perChannel; i < (c + 1) * perChannel; i++)
            {
                weight[i] = (float)(weight[i] * scale);
            }

            double b = conv.Bias?[c] ?? 0.0;
            bias[c] = (float)(((b - bn.Mean![c]) * scale) + beta);
        }

        conv.Bias = bias;
        conv.Activation = bn.Activation;
    }
}
