using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// Evaluates, at load time, nodes whose inputs are all constants and that only move or retype small
/// arrays: the shape and padding arithmetic exporters emit (torch writes F.pad's pads as
/// ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast). No arithmetic: elements are copied,
/// reordered or converted. A result above <see cref="OnnxLoadOptions.MaxFoldedElements"/> is not folded
/// (NotSupported naming the node): its size is checked from its shape before anything is computed.
/// </summary>
internal static class OnnxConstantFolder
{
    /// <summary>The operators folded when all their inputs are constants.</summary>
    public static readonly string[] Foldable = ["Cast", "Concat", "ConstantOfShape", "Identity", "Reshape", "Slice", "Squeeze", "Transpose", "Unsqueeze"];

    public static bool CanFold(NodeProto node, IReadOnlyDictionary<string, OnnxConstant> constants) =>
        Foldable.Contains(node.OpType) && node.Input.All(i => i.Length == 0 || constants.ContainsKey(i))
        && (node.Input.Count > 0 || node.OpType == "ConstantOfShape");

    /// <param name="node">The node, all of whose inputs are in <paramref name="constants"/>.</param>
    /// <param name="a">Its attributes.</param>
    /// <param name="constants">The constants so far.</param>
    /// <param name="opset">The default-domain opset.</param>
    /// <param name="max">Largest result, in elements (<see cref="OnnxLoadOptions.MaxFoldedElements"/>).</param>
    public static OnnxConstant Fold(NodeProto node, OnnxAttributes a, IReadOnlyDictionary<string, OnnxConstant> constants, int opset, long max)
    {
        OnnxConstant[] x = node.Input.Select(i => i.Length == 0 ? null! : constants[i]).ToArray();
        string name = node.Output.Count > 0 ? node.Output[0] : throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} has no output");
        // Cast and Transpose copy their input whole: its size is the result's, known before copying.
        if (node.OpType is "Cast" or "Transpose" && x.Length > 0 && x[0] != null)
            Count(node, x[0].Dims.Select(d => (long)d), max);
        OnnxConstant result = node.OpType switch
        {
            "Identity" => x[0] with { },
            "Reshape" => Reshape(node, a, x[0], Ints(node, x, 1), max),
            "Cast" => Cast(node, a, x[0]),
            "ConstantOfShape" => ConstantOfShape(node, a, x[0], max),
            "Concat" => Concat(node, a, x, max),
            "Slice" => Slice(node, x, max),
            "Transpose" => Transpose(node, a, x[0]),
            "Unsqueeze" or "Squeeze" => Squeeze(node, a, x, opset),
            _ => throw new InvalidOperationException(node.OpType),
        };
        // Identity, Reshape and (Un)squeeze share their input's values; a large one is still no shape arithmetic.
        Count(node, result.Dims.Select(d => (long)d), max);
        return result with { Name = name };
    }

    private static long[] Ints(NodeProto node, OnnxConstant[] x, int i) =>
        i < x.Length && x[i] != null
            ? x[i].Longs ?? throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: input {i} must be an integer tensor")
            : throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} lacks input {i}");

    private static InvalidDataException Bad(NodeProto node, string what) => new($"ONNX {OnnxAttributes.Describe(node)}: {what}");

    /// <summary>The constant with elements picked by index (a copy in a new order).</summary>
    private static OnnxConstant Pick(OnnxConstant c, int[] dims, long[] index) => new(
        c.Name, dims, c.Floats == null ? null : index.Select(i => c.Floats[i]).ToArray(), c.Longs == null ? null : index.Select(i => c.Longs[i]).ToArray());

    /// <summary>The element count of dims, if it is at most <paramref name="max"/> (else NotSupported naming the node and the limit).</summary>
    private static long Count(NodeProto node, IEnumerable<long> dims, long max)
    {
        long n = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                throw Bad(node, $"a constant computation with the negative dimension {d}");
            if (d > max || (d > 0 && n > max / d)) // n * d > max, tested without overflowing
                throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: a constant computation of more than {max} elements is not supported (OnnxLoadOptions.MaxFoldedElements).");
            n *= d;
        }

        return n;
    }

    private static int[] Strides(int[] dims)
    {
        int[] s = new int[dims.Length];
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= dims[i];
        }

        return s;
    }

    private static int Axis(NodeProto node, long axis, int rank) =>
        axis >= -rank && axis < rank ? (int)(axis < 0 ? axis + rank : axis) : throw Bad(node, $"axis {axis} is out of range for rank {rank}");

    private static OnnxConstant Reshape(NodeProto node, OnnxAttributes a, OnnxConstant c, long[] shape, long max)
    {
        // allowzero = 1 makes a 0 in the shape a real empty dimension instead of "copy the input's": not folded.
        if (a.IntIn("allowzero", 0, 0, 1) == 1 && shape.Contains(0))
            throw a.Unsupported("allowzero=1 with a 0 in the shape (an empty tensor)");
        long[] dims = shape.Select((d, i) => d == 0 && i < c.Dims.Length ? c.Dims[i] : d).ToArray();
        int inferred = Array.IndexOf(dims, -1L);
        if (inferred >= 0)
        {
            long known = Count(node, dims.Where((_, i) => i != inferred), max);
            dims[inferred] = known == 0 ? 0 : c.Length / known;
        }

        if (Count(node, dims, max) != c.Length)
            throw Bad(node, $"cannot reshape the constant {c.ShapeText} to [{string.Join(", ", shape)}]");
        return c with { Dims = dims.Select(d => (int)d).ToArray() };
    }

    private static OnnxConstant Cast(NodeProto node, OnnxAttributes a, OnnxConstant c)
    {
        var to = (TensorProto.Types.DataType)a.Int("to", 0);
        return to switch
        {
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32 =>
                c with { Floats = null, Longs = c.Longs ?? c.Floats!.Select(f => (long)f).ToArray() },
            TensorProto.Types.DataType.Float => c with { Longs = null, Floats = c.Floats ?? c.Longs!.Select(v => (float)v).ToArray() },
            _ => throw a.Unsupported($"Cast to {to} of a constant"),
        };
    }

    private static OnnxConstant ConstantOfShape(NodeProto node, OnnxAttributes a, OnnxConstant shape, long max)
    {
        long[] dims = shape.Longs ?? throw Bad(node, "the shape must be INT64");
        int n = (int)Count(node, dims, max);
        OnnxConstant value = a.Tensor("value") is TensorProto t
            ? OnnxReader.Decode(t, "value", OnnxLoadOptions.Default)
            : new OnnxConstant("value", [1], [0f], null);
        if (value.Length != 1)
            throw Bad(node, "the value must have one element");
        return Pick(value, dims.Select(d => (int)d).ToArray(), new long[n]);
    }

    private static OnnxConstant Concat(NodeProto node, OnnxAttributes a, OnnxConstant[] x, long max)
    {
        int rank = x[0].Dims.Length;
        int axis = Axis(node, a.Int("axis", 0), rank);
        if (x.Any(c => c.Dims.Length != rank || (c.Floats == null) != (x[0].Floats == null)
                       || c.Dims.Where((d, i) => i != axis && d != x[0].Dims[i]).Any()))
            throw Bad(node, "the constants to concatenate differ in rank, type or shape");
        int[] dims = (int[])x[0].Dims.Clone();
        dims[axis] = (int)Count(node, x.Select(c => (long)c.Dims[axis]), max);
        Count(node, dims.Select(d => (long)d), max);
        long outer = Count(node, dims[..axis].Select(d => (long)d), max);
        long inner = Count(node, dims[(axis + 1)..].Select(d => (long)d), max);
        var floats = new List<float>();
        var longs = new List<long>();
        for (long o = 0; o < outer; o++)
        {
            foreach (OnnxConstant c in x)
            {
                long block = c.Dims[axis] * inner;
                if (c.Floats != null)
                    floats.AddRange(c.Floats.Skip((int)(o * block)).Take((int)block));
                else
                    longs.AddRange(c.Longs!.Skip((int)(o * block)).Take((int)block));
            }
        }

        return new OnnxConstant("", dims, x[0].Floats == null ? null : [.. floats], x[0].Longs == null ? null : [.. longs]);
    }

    private static OnnxConstant Slice(NodeProto node, OnnxConstant[] x, long max)
    {
        OnnxConstant c = x[0];
        long[] starts = Ints(node, x, 1), ends = Ints(node, x, 2);
        long[] axes = x.Length > 3 && x[3] != null ? Ints(node, x, 3) : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        long[] steps = x.Length > 4 && x[4] != null ? Ints(node, x, 4) : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw Bad(node, "starts, ends, axes and steps differ in length");
        int rank = c.Dims.Length;
        var range = Enumerable.Range(0, rank).Select(i => (Start: 0L, Count: (long)c.Dims[i], Step: 1L)).ToArray();
        var seen = new HashSet<int>();
        for (int k = 0; k < starts.Length; k++)
        {
            int axis = Axis(node, axes[k], rank);
            if (!seen.Add(axis))
                throw Bad(node, $"axis {axes[k]} is sliced twice");
            range[axis] = SliceRange(node, c.Dims[axis], starts[k], ends[k], steps[k]);
        }

        // The result's size from its shape, before a single index is made.
        Count(node, range.Select(r => r.Count), max);
        long[][] picks = range.Select(r => LongRange(r.Start, r.Count, r.Step)).ToArray();
        return Gather(c, picks);
    }

    /// <summary>
    /// ONNX Slice along one axis of size dim: the first index and how many are taken. Starts and ends are clamped
    /// as the operator defines (to [0, dim] forward, [-1, dim - 1] backward), so any int64 step, even +-2^63, counts
    /// without overflow: the k-th index is start + k * step with k * |step| &lt; |end - start| &lt;= dim.
    /// </summary>
    private static (long Start, long Count, long Step) SliceRange(NodeProto node, long dim, long start, long end, long step)
    {
        if (step == 0)
            throw Bad(node, "a Slice step is 0");
        start = start < 0 ? start + dim : start;
        end = end < 0 ? end + dim : end;
        long span;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            span = Math.Clamp(end, 0, dim) - start;
        }
        else
        {
            start = Math.Clamp(start, -1, dim - 1);
            span = start - Math.Clamp(end, -1, dim - 1);
        }

        ulong magnitude = step == long.MinValue ? 1UL << 63 : (ulong)Math.Abs(step);
        long count = span <= 0 ? 0 : 1 + (long)((ulong)(span - 1) / magnitude);
        return (start, count, step);
    }

    private static long[] LongRange(long start, long count, long step)
    {
        var values = new long[count];
        for (long k = 0; k < count; k++)
            values[k] = start + (k * step); // |k * step| < dim: see SliceRange
        return values;
    }

    /// <summary>The elements at the cartesian product of per-axis positions.</summary>
    private static OnnxConstant Gather(OnnxConstant c, long[][] picks)
    {
        int[] strides = Strides(c.Dims);
        IEnumerable<long> index = [0L];
        for (int axis = 0; axis < picks.Length; axis++)
        {
            int ax = axis;
            index = index.SelectMany(i => picks[ax].Select(p => i + (p * strides[ax])));
        }

        return Pick(c, picks.Select(p => p.Length).ToArray(), index.ToArray());
    }

    private static OnnxConstant Transpose(NodeProto node, OnnxAttributes a, OnnxConstant c)
    {
        int rank = c.Dims.Length;
        long[] perm = a.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
            throw Bad(node, $"perm [{string.Join(", ", perm)}] is not a permutation of {rank} axes");
        int[] strides = Strides(c.Dims);
        int[] dims = perm.Select(p => c.Dims[p]).ToArray();
        IEnumerable<long> index = [0L];
        foreach (long p in perm)
            index = index.SelectMany(i => Enumerable.Range(0, c.Dims[p]).Select(v => i + ((long)v * strides[p])));
        return Pick(c, dims, index.ToArray());
    }

    private static OnnxConstant Squeeze(NodeProto node, OnnxAttributes a, OnnxConstant[] x, int opset)
    {
        OnnxConstant c = x[0];
        long[]? axes = opset >= 13 ? (x.Length > 1 && x[1] != null ? Ints(node, x, 1) : null) : a.Ints("axes");
        var dims = c.Dims.ToList();
        if (node.OpType == "Unsqueeze")
        {
            if (axes == null)
                throw Bad(node, "Unsqueeze needs axes");
            int rank = dims.Count + axes.Length;
            foreach (int axis in axes.Select(ax => Axis(node, ax, rank)).Order())
                dims.Insert(axis, 1);
        }
        else
        {
            var drop = axes?.Select(ax => Axis(node, ax, dims.Count)).ToHashSet() ?? dims.Select((d, i) => (d, i)).Where(p => p.d == 1).Select(p => p.i).ToHashSet();
            dims = dims.Where((d, i) => !drop.Contains(i)).ToList();
        }

        return c with { Dims = [.. dims] };
    }
}
