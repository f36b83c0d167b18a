using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// Rewrites a traced <see cref="Graph"/> for inference: batch norm folded into the convolution before it, and a
/// lone activation fused into the epilogue of the op that produced its input. Both only when the intermediate
/// value has no other reader (and is not the model output), so no one can observe the change.
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

        if (fuseActivations)
        {
            Fuse(graph, OpKind.Activation, static (producer, act) => act.Activation != CnnActivation.None &&
                producer.Activation == CnnActivation.None && producer.Kind is OpKind.Conv2d or OpKind.Linear or OpKind.BatchNorm2d or OpKind.Add,
                static (producer, act) => producer.Activation = act.Activation);
        }
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
