using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// The structure of an ONNX graph, checked: every value defined once (graph input, initializer or node
/// output), every node input defined, no cycle; the nodes in a topological order and the consumers of
/// every value. Malformed graphs throw <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    public OnnxGraph(GraphProto graph, ISet<string> predefined)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (NodeProto node in graph.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length == 0)
                    continue; // an optional output left out
                if (predefined.Contains(output))
                    throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} writes '{output}', which is already a graph input or initializer");
                if (!producer.TryAdd(output, node))
                    throw new InvalidDataException($"ONNX value '{output}' is produced twice: by {OnnxAttributes.Describe(producer[output])} and by {OnnxAttributes.Describe(node)}");
            }
        }

        // Kahn's algorithm, keeping the file's order among ready nodes (exporters write a valid order).
        var pending = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        var waiting = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        var ready = new Queue<NodeProto>();
        foreach (NodeProto node in graph.Node)
        {
            int missing = 0;
            foreach (string input in node.Input.Distinct())
            {
                if (input.Length == 0)
                    continue; // an optional input left out
                if (!_consumers.TryGetValue(input, out List<NodeProto>? list))
                    _consumers[input] = list = [];
                list.Add(node);
                if (predefined.Contains(input))
                    continue;
                if (!producer.ContainsKey(input))
                    throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} reads '{input}', which no node, graph input or initializer defines");
                missing++;
                if (!waiting.TryGetValue(input, out List<NodeProto>? w))
                    waiting[input] = w = [];
                w.Add(node);
            }

            pending[node] = missing;
            if (missing == 0)
                ready.Enqueue(node);
        }

        var order = new List<NodeProto>(graph.Node.Count);
        while (ready.Count > 0)
        {
            NodeProto node = ready.Dequeue();
            order.Add(node);
            foreach (string output in node.Output)
            {
                if (output.Length == 0 || !waiting.TryGetValue(output, out List<NodeProto>? w))
                    continue;
                foreach (NodeProto next in w)
                {
                    if (--pending[next] == 0)
                        ready.Enqueue(next);
                }
            }
        }

        if (order.Count != graph.Node.Count)
        {
            NodeProto stuck = graph.Node.First(n => pending[n] > 0);
            throw new InvalidDataException($"the ONNX graph has a cycle (through {OnnxAttributes.Describe(stuck)})");
        }

        Order = order;
        Produced = producer.Keys.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The nodes in a topological order.</summary>
    public IReadOnlyList<NodeProto> Order { get; }

    /// <summary>The names written by nodes.</summary>
    public IReadOnlySet<string> Produced { get; }

    /// <summary>The nodes reading a value (each once).</summary>
    public IReadOnlyList<NodeProto> Consumers(string name) =>
        _consumers.TryGetValue(name, out List<NodeProto>? list) ? list : [];
}
