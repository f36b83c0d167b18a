using CnnNative.Interop;
using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// MaxPool / AveragePool: the native pool when its symmetric padding expresses the pads, else an explicit padding step
/// and an unpadded pool (asymmetric pads, pads wider than half the kernel, a folded Pad beside excluded own pads).
/// </summary>
internal sealed partial class OnnxCompiler
{
    private void CompilePool(NodeProto node, OnnxAttributes a, bool max)
    {
        int rank = 2;
        long[]? kernel = a.Ints("kernel_shape");
        if (kernel != null)
            rank = kernel.Length;
        Window win = ReadWindow(node, a, rank, null, dilations: max);
        bool ceil = a.IntIn("ceil_mode", 0, 0, 1) == 1;
        bool countIncludePad = !max && a.IntIn("count_include_pad", 0, 0, 1) == 1;
        if (max)
            a.IntIn("storage_order", 0, 0);
        (string input, long[] extra) = ThroughPad(node, rank);
        if (extra.Any(p => p != 0) && max)
            throw a.Unsupported("a Pad folded into MaxPool (zero padding is not max pooling's padding)");
        CheckDeclaredInput(node, input, win, extra, channels: null);
        Emit(node, [input], x =>
        {
            long[] own = win.PadsFor(SpatialOf(x[0], rank));
            long[] p = AddPads(own, extra);
            // A folded Pad's zeros are input to the average (counted); the pool's own pads count only with count_include_pad.
            bool mixed = !countIncludePad && own.Any(v => v != 0) && extra.Any(v => v != 0);
            var pool = new PoolShape(rank, win, p, ceil, countIncludePad ? p : extra, node);
            using Tensor x2 = As2d(x[0], rank);
            if (mixed || !pool.NativePadding)
                return From2d(PoolExplicit(x2, pool, max), rank);
            var options = new Pool2dOptions(pool.Kernel[0], pool.Kernel[1])
            {
                Stride = (pool.Stride[0], pool.Stride[1]),
                Dilation = (pool.Dilation[0], pool.Dilation[1]),
                Padding = (pool.Begin[0], pool.Begin[1]),
                CeilMode = ceil,
                CountIncludePad = countIncludePad || extra.Any(v => v != 0),
            };
            return From2d(max ? Functional.MaxPool2d(x2, options) : Functional.AvgPool2d(x2, options), rank);
        });
    }

    /// <summary>
    /// A pooling window over the [N, C, H, W] view (a 1-D pool is H = 1), with per-side pads and the region an average
    /// counts (relative to the input: [-CountBegin, size + CountEnd)).
    /// </summary>
    private sealed class PoolShape
    {
        public PoolShape(int rank, Window win, long[] pads, bool ceil, long[] counted, NodeProto node)
        {
            Ceil = ceil;
            Kernel = rank == 2 ? [win.Kernel[0], win.Kernel[1]] : [1, win.Kernel[0]];
            Stride = rank == 2 ? [win.Stride[0], win.Stride[1]] : [1, win.Stride[0]];
            Dilation = rank == 2 ? [win.Dilation[0], win.Dilation[1]] : [1, win.Dilation[0]];
            Begin = rank == 2 ? [Checked(pads[0], node), Checked(pads[1], node)] : [0, Checked(pads[0], node)];
            End = rank == 2 ? [Checked(pads[2], node), Checked(pads[3], node)] : [0, Checked(pads[1], node)];
            CountBegin = rank == 2 ? [Checked(counted[0], node), Checked(counted[1], node)] : [0, Checked(counted[0], node)];
            CountEnd = rank == 2 ? [Checked(counted[2], node), Checked(counted[3], node)] : [0, Checked(counted[1], node)];
            Node = node;
        }

        public bool Ceil { get; }
        public int[] Kernel { get; }
        public int[] Stride { get; }
        public int[] Dilation { get; }
        public int[] Begin { get; }
        public int[] End { get; }
        public int[] CountBegin { get; }
        public int[] CountEnd { get; }
        public NodeProto Node { get; }

        /// <summary>Whether the native kernel's padding expresses these pads: symmetric, at most half the kernel.</summary>
        public bool NativePadding => Begin.SequenceEqual(End) && Begin[0] <= Kernel[0] / 2 && Begin[1] <= Kernel[1] / 2;

        /// <summary>
        /// Output size along dimension d for an input of the given size: floor, or with ceil_mode the ceiling, where as in
        /// torch (and the native kernels) a last window starting in the end padding is dropped.
        /// </summary>
        public int OutputSize(int d, int size)
        {
            long span = (long)size + Begin[d] + End[d] - ((long)Dilation[d] * (Kernel[d] - 1) + 1);
            if (span < 0)
                throw new ArgumentException($"the pooling window ({Kernel[d]}, dilation {Dilation[d]}) is larger than the padded input ({size} + pads {Begin[d]}, {End[d]}).");
            long outSize = (Ceil ? (span + Stride[d] - 1) / Stride[d] : span / Stride[d]) + 1;
            if (Ceil && (outSize - 1) * Stride[d] >= (long)size + Begin[d])
                outSize--;
            return Checked(outSize, Node);
        }
    }

    /// <summary>
    /// Pooling with pads the native kernel does not take (asymmetric, wider than half the kernel, or a folded Pad's zeros
    /// beside excluded own pads): an explicit padding step (-inf for max, 0 for average) to exactly the extent the windows
    /// read, a pool without padding, and for the average the window sums divided by each window's count as ONNX defines it.
    /// </summary>
    private static Tensor PoolExplicit(Tensor x, PoolShape pool, bool max)
    {
        int h = x.Shape[2], w = x.Shape[3];
        int oh = pool.OutputSize(0, h), ow = pool.OutputSize(1, w);
        // The extent the windows read, and the end padding that makes it (never negative: an unread tail of input stays).
        int[] extent = [(int)Math.Max((long)(oh - 1) * pool.Stride[0] + (long)pool.Dilation[0] * (pool.Kernel[0] - 1) + 1, (long)h + pool.Begin[0]),
                        (int)Math.Max((long)(ow - 1) * pool.Stride[1] + (long)pool.Dilation[1] * (pool.Kernel[1] - 1) + 1, (long)w + pool.Begin[1])];
        Inference.Trace.Unsupported("ONNX pooling with asymmetric pads (an explicit padding step, run by OnnxModel.Forward only)");
        using Tensor padded = PadSpatial(x, pool.Begin[0], extent[0] - h - pool.Begin[0], pool.Begin[1], extent[1] - w - pool.Begin[1],
            max ? float.NegativeInfinity : 0f);
        var options = new Pool2dOptions(pool.Kernel[0], pool.Kernel[1])
        {
            Stride = (pool.Stride[0], pool.Stride[1]),
            Dilation = (pool.Dilation[0], pool.Dilation[1]),
            DivisorOverride = max ? null : 1,
        };
        if (max)
            return Functional.MaxPool2d(padded, options);
        using Tensor sums = Functional.AvgPool2d(padded, options);
        float[] rows = WindowCounts(pool, 0, h, oh), cols = WindowCounts(pool, 1, w, ow);
        var reciprocal = new float[oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                reciprocal[(i * ow) + j] = 1f / (rows[i] * cols[j]);
        using Tensor divisors = Tensor.FromArray(reciprocal, oh, ow);
        return Functional.Broadcast(CnnBinaryOp.Mul, sums, divisors);
    }

    /// <summary>Per output position along d: how many of the window's taps fall in the counted region.</summary>
    private static float[] WindowCounts(PoolShape pool, int d, int size, int outSize)
    {
        var counts = new float[outSize];
        long lo = -pool.CountBegin[d], hi = (long)size + pool.CountEnd[d];
        for (int o = 0; o < outSize; o++)
        {
            long start = ((long)o * pool.Stride[d]) - pool.Begin[d];
            counts[o] = Math.Max(0, Math.Min(hi, start + pool.Kernel[d]) - Math.Max(lo, start));
        }

        return counts;
    }

    /// <summary>x [N, C, H, W] padded with <paramref name="value"/>: top/bottom rows, left/right columns (each >= 0).</summary>
    private static Tensor PadSpatial(Tensor x, int top, int bottom, int left, int right, float value)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2];
        Tensor wide = PadDim(x, 3, left, right, value, [n, c, h]);
        try
        {
            return PadDim(wide, 2, top, bottom, value, [n, c]);
        }
        finally
        {
            wide.Dispose();
        }
    }

    /// <summary>x with <paramref name="before"/> / <paramref name="after"/> slices of <paramref name="value"/> along dim (a new tensor).</summary>
    private static Tensor PadDim(Tensor x, int dim, int before, int after, float value, int[] lead)
    {
        var parts = new List<Tensor>(3);
        try
        {
            int[] rest = x.Shape[(dim + 1)..];
            if (before > 0)
                parts.Add(Tensor.Full(value, [.. lead, before, .. rest]));
            parts.Add(x);
            if (after > 0)
                parts.Add(Tensor.Full(value, [.. lead, after, .. rest]));
            return parts.Count == 1 ? x.Reshape(x.Shape) : Functional.Concat(parts, dim);
        }
        finally
        {
            foreach (Tensor t in parts)
            {
                if (!ReferenceEquals(t, x))
                    t.Dispose();
            }
        }
    }
}
