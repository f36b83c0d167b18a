using CnnNative.Interop;
using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>The operators: each reads its attributes and emits a step of Functional calls.</summary>
internal sealed partial class OnnxCompiler
{
    // ------------------------------------------------------------------------------------------
    // Spatial attributes shared by Conv and the pools
    // ------------------------------------------------------------------------------------------

    /// <summary>kernel_shape / strides / dilations / pads / auto_pad of a 1-D or 2-D window.</summary>
    private sealed record Window(int Rank, int[] Kernel, int[] Stride, int[] Dilation, long[] Pads, string AutoPad)
    {
        /// <summary>Per-side padding (begin..., end...) for an input of the given spatial size.</summary>
        public long[] PadsFor(ReadOnlySpan<int> spatial)
        {
            if (AutoPad is "NOTSET" or "VALID")
                return AutoPad == "VALID" ? new long[2 * Rank] : Pads;
            var pads = new long[2 * Rank];
            for (int i = 0; i < Rank; i++)
            {
                long outSize = (spatial[i] + Stride[i] - 1) / Stride[i];
                long total = Math.Max(0, (outSize - 1) * Stride[i] + (long)(Kernel[i] - 1) * Dilation[i] + 1 - spatial[i]);
                long small = total / 2;
                pads[i] = AutoPad == "SAME_UPPER" ? small : total - small;
                pads[i + Rank] = total - pads[i];
            }

            return pads;
        }
    }

    private Window ReadWindow(NodeProto node, OnnxAttributes a, int rank, int[]? kernelFromWeight, bool dilations = true)
    {
        if (rank is not (1 or 2))
            throw a.Unsupported($"a {rank}-D window (only 1-D and 2-D)");
        long[]? kernel = a.Ints("kernel_shape");
        if (kernel == null && kernelFromWeight == null)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} lacks the attribute kernel_shape");
        if (kernel != null && kernelFromWeight != null && !kernel.Select(k => (int)k).SequenceEqual(kernelFromWeight))
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: kernel_shape [{string.Join(", ", kernel)}] differs from the weight's [{string.Join(", ", kernelFromWeight)}]");
        int[] k = kernelFromWeight ?? kernel!.Select(v => Positive(node, "kernel_shape", v)).ToArray();
        int[] stride = Spatial(node, a, "strides", rank, 1);
        int[] dilation = dilations ? Spatial(node, a, "dilations", rank, 1) : Enumerable.Repeat(1, rank).ToArray();
        long[] pads = a.Ints("pads") ?? new long[2 * rank];
        if (pads.Length != 2 * rank || pads.Any(p => p < 0 || p > int.MaxValue))
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: pads [{string.Join(", ", pads)}] must be {2 * rank} values >= 0");
        string autoPad = a.String("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw a.Unsupported($"auto_pad '{autoPad}'");
        if (k.Length != rank)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: kernel_shape has {k.Length} values for a {rank}-D window");
        return new Window(rank, k, stride, dilation, pads, autoPad);
    }

    private static int[] Spatial(NodeProto node, OnnxAttributes a, string name, int rank, int fallback)
    {
        long[]? values = a.Ints(name);
        if (values == null)
            return Enumerable.Repeat(fallback, rank).ToArray();
        if (values.Length != rank)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: {name} has {values.Length} values for a {rank}-D window");
        return values.Select(v => Positive(node, name, v)).ToArray();
    }

    private static int Positive(NodeProto node, string name, long v) =>
        v is >= 1 and <= int.MaxValue ? (int)v : throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: {name} value {v} must be >= 1");

    /// <summary>The input read through a foldable Pad (absorbed here), with its spatial padding (begin..., end...).</summary>
    private (string Input, long[] ExtraPads) ThroughPad(NodeProto node, int spatialRank)
    {
        string name = InputName(node, 0);
        if (!_pads.TryGetValue(name, out var pad))
            return (Runtime(node, 0), new long[2 * spatialRank]);
        int rank = pad.Pads.Length / 2;
        if (rank != spatialRank + 2)
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(pad.Node)}: pads for rank {rank} before a {spatialRank}-D {node.OpType}.");
        _absorbed.Add(pad.Node);
        var extra = new long[2 * spatialRank];
        for (int i = 0; i < spatialRank; i++)
        {
            extra[i] = pad.Pads[2 + i];
            extra[spatialRank + i] = pad.Pads[rank + 2 + i];
        }

        return (pad.Input, extra);
    }

    private static long[] AddPads(long[] a, long[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    /// <summary>
    /// When the window reads a graph input of declared static shape, checks at load what would otherwise fail only
    /// in Run: the rank, the channels the weight takes (<paramref name="channels"/>; null for a pool) and that the
    /// (dilated) window fits the padded input. Other inputs' shapes are known only when the graph runs.
    /// </summary>
    private void CheckDeclaredInput(NodeProto node, string input, Window win, long[] extra, long? channels)
    {
        if (!_graphInputs.TryGetValue(input, out OnnxValueInfo? info))
            return;
        IReadOnlyList<int> s = info.Shape;
        if (s.Count != win.Rank + 2)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: a {win.Rank}-D window reads the graph input {info}, of rank {s.Count} (expected {win.Rank + 2})");
        if (channels is long c && s[1] >= 0 && s[1] != c)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: the weight takes {c} input channels but the graph input {info} has {s[1]}");
        int[] spatial = s.Skip(2).ToArray();
        if (spatial.Any(d => d < 0))
            return;
        long[] pads = AddPads(win.PadsFor(spatial), extra);
        for (int i = 0; i < win.Rank; i++)
        {
            long window = ((long)win.Dilation[i] * (win.Kernel[i] - 1)) + 1;
            long padded = spatial[i] + pads[i] + pads[i + win.Rank];
            if (window > padded)
                throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: the window (kernel {win.Kernel[i]}, dilation {win.Dilation[i]}) spans {window} along spatial axis {i}, more than the {padded} of the graph input {info} with pads {pads[i]} + {pads[i + win.Rank]}");
        }
    }

    private static int[] SpatialOf(Tensor x, int rank) => x.Shape[^rank..];

    private static Tensor As2d(Tensor x, int rank) =>
        rank == 2 ? x.Reshape(x.Shape) : x.Reshape([.. x.Shape[..^1], 1, x.Shape[^1]]);

    private static Tensor From2d(Tensor y, int rank)
    {
        if (rank == 2)
            return y;
        using (y)
            return y.Reshape([.. y.Shape[..^2], y.Shape[^1]]);
    }

    private static int Checked(long v, NodeProto node) =>
        v <= int.MaxValue ? (int)v : throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: padding {v} is too large.");

    // ------------------------------------------------------------------------------------------
    // Conv, pools
    // ------------------------------------------------------------------------------------------

    private void CompileConv(NodeProto node, OnnxAttributes a)
    {
        OnnxConstant w = RequiredConstant(node, 1, "weight");
        int rank = w.Dims.Length - 2;
        Window win = ReadWindow(node, a, rank, w.Dims.Length >= 3 ? w.Dims[2..] : null);
        long group = a.Int("group", 1);
        if (group < 1 || group > w.Dims[0] || w.Dims[0] % group != 0)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: group {group} must be >= 1 and divide the weight's {w.Dims[0]} output channels (weight {w.ShapeText})");
        int groups = (int)group;
        Tensor weight = FloatTensor(node, w, "weight");
        if (rank == 1)
            weight = Own(weight.Reshape(w.Dims[0], w.Dims[1], 1, w.Dims[2]));
        OnnxConstant? b = Constant(node, 2, "bias");
        Tensor? bias = b == null ? null : FloatTensor(node, b, "bias");
        (string input, long[] extra) = ThroughPad(node, rank);
        CheckDeclaredInput(node, input, win, extra, w.Dims[1] * group);
        (Activation act, string output, string opType) = FuseActivation(node);
        Emit(node, [input], x =>
        {
            long[] p = AddPads(win.PadsFor(SpatialOf(x[0], rank)), extra);
            var options = new Conv2dOptions
            {
                Stride = rank == 2 ? (win.Stride[0], win.Stride[1]) : (1, win.Stride[0]),
                Dilation = rank == 2 ? (win.Dilation[0], win.Dilation[1]) : (1, win.Dilation[0]),
                Padding = rank == 2
                    ? new Padding2d(Checked(p[0], node), Checked(p[2], node), Checked(p[1], node), Checked(p[3], node))
                    : new Padding2d(0, 0, Checked(p[0], node), Checked(p[1], node)),
                Groups = groups,
            };
            using Tensor x2 = As2d(x[0], rank);
            return From2d(Functional.Conv2d(x2, weight, bias, options, act), rank);
        }, output, opType);
    }

    private void CompilePad(NodeProto node, OnnxAttributes a)
    {
        string mode = a.String("mode", "constant");
        if (mode != "constant")
            throw a.Unsupported($"mode '{mode}'");
        if (InputName(node, 3).Length > 0)
            throw a.Unsupported("the axes input");
        long[] pads = Longs(node, RequiredConstant(node, 1, "pads"), "pads");
        OnnxConstant? value = Constant(node, 2, "constant_value");
        if (value != null && Scalar(node, value, "constant_value") != 0)
            throw a.Unsupported($"constant_value {Scalar(node, value, "constant_value")} (only 0)");
        int rank = pads.Length / 2;
        if (pads.Length % 2 != 0 || rank < 3 || pads.Any(p => p < 0) || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank + 1] != 0)
            throw a.Unsupported($"pads [{string.Join(", ", pads)}] (only zero padding >= 0 of the spatial dimensions)");
        RequireOneOutput(node);
        IReadOnlyList<NodeProto> readers = _graph.Consumers(node.Output[0]);
        if (readers.Count != 1 || readers[0].OpType is not ("Conv" or "AveragePool" or "Pad") || readers[0].Input[0] != node.Output[0]
            || _graphOutputs.Contains(node.Output[0]))
            throw a.Unsupported("a Pad that is not read by exactly one Conv or AveragePool (where it folds into their padding)");
        string input = InputName(node, 0);
        if (_pads.TryGetValue(input, out var before))
        {
            // Pad after Pad (torch writes one before its AveragePool): one padding, the sum.
            if (before.Pads.Length != pads.Length)
                throw a.Unsupported("two Pads of different ranks in a row");
            _absorbed.Add(before.Node);
            _pads[node.Output[0]] = (before.Input, AddPads(before.Pads, pads), node);
            return;
        }

        _pads[node.Output[0]] = (Runtime(node, 0), pads, node);
    }

    // ------------------------------------------------------------------------------------------
    // Normalization, activations
    // ------------------------------------------------------------------------------------------

    private void CompileBatchNorm(NodeProto node, OnnxAttributes a)
    {
        float eps = a.Float("epsilon", 1e-5f);
        a.Float("momentum", 0.9f); // training only
        a.IntIn("training_mode", 0, 0);
        string input = Runtime(node, 0);
        Tensor scale = FloatTensor(node, RequiredConstant(node, 1, "scale"), "scale");
        Tensor shift = FloatTensor(node, RequiredConstant(node, 2, "bias"), "bias");
        Tensor mean = FloatTensor(node, RequiredConstant(node, 3, "mean"), "mean");
        Tensor var = FloatTensor(node, RequiredConstant(node, 4, "var"), "var");
        (Activation act, string output, string opType) = FuseActivation(node);
        Emit(node, [input], x =>
        {
            int[] s = x[0].Shape;
            if (s.Length == 4)
                return Functional.BatchNorm2d(x[0], mean, var, scale, shift, eps, act);
            if (s.Length is < 2 or > 4)
                throw new ArgumentException($"BatchNormalization of a rank-{s.Length} input {Tensor.FormatShape(s)} is not supported (ranks 2 to 4).");
            using Tensor x4 = x[0].Reshape(s[0], s[1], s.Length == 3 ? s[2] : 1, 1);
            using Tensor y = Functional.BatchNorm2d(x4, mean, var, scale, shift, eps, act);
            return y.Reshape(s);
        }, output, opType);
    }

    private void CompileClip(NodeProto node)
    {
        string input = Runtime(node, 0);
        (float? min, float? max) = ClipBounds(node);
        Func<Tensor[], Tensor> run = (min, max) switch
        {
            (0f, 6f) => x => Functional.Relu6(x[0]),
            (0f, null) => x => Functional.Relu(x[0]),
            _ => x => Functional.Clamp(x[0], min ?? float.NegativeInfinity, max ?? float.PositiveInfinity),
        };
        Emit(node, [input], run);
    }

    private void CompileSoftmax(NodeProto node, OnnxAttributes a, bool log)
    {
        long axis = a.Int("axis", _opset < 13 ? 1 : -1);
        string input = Runtime(node, 0);
        Emit(node, [input], x =>
        {
            int[] s = x[0].Shape;
            if (axis < -s.Length || axis >= s.Length)
                throw new ArgumentException($"axis {axis} is out of range for a rank-{s.Length} input.");
            int dim = (int)(axis < 0 ? axis + s.Length : axis);
            if (_opset >= 13 || dim == s.Length - 1)
                return log ? Functional.LogSoftmax(x[0], dim) : Functional.Softmax(x[0], dim);
            // Before opset 13: softmax over the input coerced to 2-D [prod(s[..axis]), prod(s[axis..])].
            long outer = 1;
            foreach (int d in s[..dim])
                outer *= d;
            using Tensor flat = x[0].Reshape((int)outer, -1);
            using Tensor y = log ? Functional.LogSoftmax(flat, 1) : Functional.Softmax(flat, 1);
            return y.Reshape(s);
        });
    }

    private void CompileDropout(NodeProto node, OnnxAttributes a)
    {
        a.Float("ratio", 0.5f); // opset < 12 attribute; identity at inference either way
        a.IntIn("seed", 0, 0);
        OnnxConstant? training = Constant(node, 2, "training_mode");
        if (training != null && (training.Longs?.Any(v => v != 0) == true || training.Floats?.Any(v => v != 0) == true))
            throw a.Unsupported("training_mode=true");
        Emit(node, [Runtime(node, 0)], x => x[0].Reshape(x[0].Shape));
    }

    // ------------------------------------------------------------------------------------------
    // Linear algebra
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Y = alpha * A' B' + beta * C (A' = A or Aᵀ, B' = B or Bᵀ; B and C constants). transA = 0 runs Linear on the weight
    /// B'ᵀ with beta * C as its bias when C is per column (or a scalar) and alpha is 1, so the activation after it fuses;
    /// otherwise alpha scales the product and C is added with broadcasting. transA = 1 runs the transposed-A GEMM.
    /// </summary>
    private void CompileGemm(NodeProto node, OnnxAttributes a)
    {
        float alpha = a.Float("alpha", 1f);
        float beta = a.Float("beta", 1f);
        bool transA = a.IntIn("transA", 0, 0, 1) == 1;
        bool transB = a.IntIn("transB", 0, 0, 1) == 1;
        string input = Runtime(node, 0);
        OnnxConstant b = RequiredConstant(node, 1, "B (weight)");
        if (b.Dims.Length != 2)
            throw a.Unsupported($"B of shape {b.ShapeText} (only 2-D)");
        // transA = 0 wants the Linear weight [N, K]; transA = 1 wants B' itself, [K, N].
        Tensor weight = transB != transA ? FloatTensor(node, b, "B") : Transposed(node, b);
        int outFeatures = transA ? weight.Shape[1] : weight.Shape[0];
        OnnxConstant? c = Constant(node, 2, "C (bias)");
        Tensor? bias = null, addend = null;
        if (c != null)
        {
            FloatTensor(node, c, "C");
            if (c.Dims.Length > 2)
                throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: C has shape {c.ShapeText}; it must broadcast to [M, N] (rank <= 2).");
            // With beta = 1 the step reads the initializer itself (a view), so the state dict stays live; beta * C and an
            // expanded scalar are copies made at load, like the transposed weights.
            float[] scaled = c.Floats!.Select(v => beta * v).ToArray();
            int[] dims = c.Dims.Length == 0 ? [1] : c.Dims;
            Tensor Live(int[] shape) => beta == 1f ? Own(FloatTensor(node, c, "C").Reshape(shape)) : Own(Tensor.FromArray(scaled, shape));
            if (c.Length == 1)
                bias = Own(Tensor.FromArray(Enumerable.Repeat(scaled[0], outFeatures).ToArray(), outFeatures));
            else if (c.Dims[^1] == outFeatures && c.Length == outFeatures)
                bias = Live([outFeatures]);
            else
                addend = Live(dims); // [M, 1], [M, N], or a mismatch reported at run time
        }

        Tensor scale = Own(Tensor.FromArray([alpha], 1));
        (Activation act, string output, string opType) = FuseActivation(node);
        Emit(node, [input], x =>
        {
            if (x[0].Rank != 2)
                throw new ArgumentException($"Gemm input A has shape {Tensor.FormatShape(x[0].Shape)}; it must be 2-D.");
            if (!transA && alpha == 1f && addend == null)
                return Functional.Linear(x[0], weight, bias, act);
            Tensor y;
            if (transA)
            {
                if (x[0].Shape[0] != weight.Shape[0])
                    throw new ArgumentException($"Gemm with transA = 1 needs A [K, M] with K = {weight.Shape[0]} (B' is {Tensor.FormatShape(weight.Shape)}); A has shape {Tensor.FormatShape(x[0].Shape)}.");
                y = Functional.MatMulTransposedA(x[0], weight);
            }
            else
            {
                y = Functional.Linear(x[0], weight, null);
            }

            if (alpha != 1f || bias != null)
                y = Consume(y, t => Functional.ScaleShift(t, 1, alpha != 1f ? scale : null, bias));

            if (addend != null)
            {
                int[] product = y.Shape;
                y = Consume(y, t => Broadcast(add: true, t, addend));
                if (!y.Shape.SequenceEqual(product))
                {
                    using (y)
                        throw new ArgumentException($"C of shape {c!.ShapeText} does not broadcast to the product's {Tensor.FormatShape(product)} (it would make {Tensor.FormatShape(y.Shape)}).");
                }
            }

            return Activated(y, act);
        }, output, opType);
    }

    private void CompileMatMul(NodeProto node)
    {
        string input = Runtime(node, 0);
        OnnxConstant b = RequiredConstant(node, 1, "B (weight)");
        if (b.Dims.Length != 2)
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: MatMul with B of shape {b.ShapeText} (only a 2-D constant B).");
        Tensor weight = Transposed(node, b);
        (Activation act, string output, string opType) = FuseActivation(node);
        Emit(node, [input], x => Functional.Linear(x[0], weight, null, act), output, opType);
    }

    /// <summary>B [K, N] as a Linear weight [N, K]: a copy in the layout the kernel reads (done once, at load).</summary>
    private Tensor Transposed(NodeProto node, OnnxConstant b)
    {
        FloatTensor(node, b, "B");
        int k = b.Dims[0], n = b.Dims[1];
        float[] t = new float[b.Floats!.Length];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++)
                t[(j * k) + i] = b.Floats[(i * n) + j];
        return _tensorOf(new OnnxConstant(b.Name + "^T", [n, k], t, null));
    }

    // ------------------------------------------------------------------------------------------
    // Element-wise, structure
    // ------------------------------------------------------------------------------------------

    private void CompileBinary(NodeProto node, bool add)
    {
        string a0 = InputName(node, 0), a1 = InputName(node, 1);
        bool c0 = _constants.ContainsKey(a0), c1 = _constants.ContainsKey(a1);
        if (c0 && c1)
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: both inputs are constants.");
        if (!c0 && !c1)
        {
            string x0 = Runtime(node, 0), x1 = Runtime(node, 1);
            // Add fuses a following activation; Mul (gating, e.g. x * sigmoid(conv(x))) does not.
            (Activation act, string? output, string? opType) = add ? FuseActivation(node) : (Activation.None, null, null);
            Emit(node, [x0, x1], x =>
            {
                if (x[0].Shape.SequenceEqual(x[1].Shape))
                    return add ? Functional.Add(x[0], x[1], act) : Functional.Mul(x[0], x[1]);
                return Activated(Broadcast(add, x[0], x[1]), act);
            }, output, opType);
            return;
        }

        string input = Runtime(node, c0 ? 1 : 0);
        OnnxConstant c = RequiredConstant(node, c0 ? 0 : 1, "constant operand");
        Tensor full = FloatTensor(node, c, "constant operand");
        Tensor vector = Own(full.Reshape((int)c.Length));
        Emit(node, [input], x =>
        {
            int[] s = x[0].Shape;
            if (full.Shape.SequenceEqual(s))
                return add ? Functional.Add(x[0], full) : Functional.Mul(x[0], full);
            // A scalar or one value per channel of x: the per-channel kernel (which an inference session compiles).
            int dim = ChannelDim(c.Dims, s);
            if (dim >= 0)
                return add ? Functional.ScaleShift(x[0], dim, null, vector) : Functional.ScaleShift(x[0], dim, vector, null);
            return c0 ? Broadcast(add, full, x[0]) : Broadcast(add, x[0], full);
        });
    }

    /// <summary>a + b or a * b under numpy / ONNX broadcasting; incompatible shapes name both (and OnnxModel.Run the node).</summary>
    private static Tensor Broadcast(bool add, Tensor a, Tensor b)
    {
        Functional.BroadcastShape(a.Dims, b.Dims);
        return Functional.Broadcast(add ? CnnBinaryOp.Add : CnnBinaryOp.Mul, a, b);
    }

    /// <summary>activation(y), consuming y (y itself for None): for results whose kernel could not fuse it.</summary>
    private static Tensor Activated(Tensor y, Activation act) => act == Activation.None ? y : Consume(y, t => Functional.Activate(t, act));

    /// <summary>f(y), then y disposed (an intermediate of a step).</summary>
    private static Tensor Consume(Tensor y, Func<Tensor, Tensor> f)
    {
        using (y)
            return f(y);
    }

    /// <summary>
    /// The dimension of <paramref name="shape"/> a constant of <paramref name="dims"/> broadcasts along
    /// (numpy rules, one non-1 dimension), or -1. A scalar broadcasts along dimension 1 (any works).
    /// </summary>
    private static int ChannelDim(int[] dims, int[] shape)
    {
        if (dims.Length > shape.Length)
            return -1;
        long count = dims.Aggregate(1L, (p, d) => p * d);
        if (count == 1)
            return shape.Length > 1 ? 1 : 0;
        int offset = shape.Length - dims.Length;
        int found = -1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == 1)
                continue;
            if (dims[i] != shape[offset + i] || found >= 0)
                return -1;
            found = offset + i;
        }

        return found;
    }

    private void CompileConcat(NodeProto node, OnnxAttributes a)
    {
        if (!a.Has("axis"))
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} lacks the attribute axis");
        long axis = a.Int("axis", 0);
        string[] inputs = Enumerable.Range(0, node.Input.Count).Select(i => Runtime(node, i)).ToArray();
        Emit(node, inputs, x =>
        {
            int rank = x[0].Rank;
            if (axis < -rank || axis >= rank)
                throw new ArgumentException($"axis {axis} is out of range for rank {rank}.");
            return Functional.Concat(x, (int)(axis < 0 ? axis + rank : axis));
        });
    }

    private void CompileFlatten(NodeProto node, OnnxAttributes a)
    {
        long axis = a.Int("axis", 1);
        Emit(node, [Runtime(node, 0)], x =>
        {
            int[] s = x[0].Shape;
            if (axis < -s.Length || axis > s.Length)
                throw new ArgumentException($"axis {axis} is out of range for rank {s.Length}.");
            int k = (int)(axis < 0 ? axis + s.Length : axis);
            long outer = 1;
            foreach (int d in s[..k])
                outer *= d;
            return x[0].Reshape((int)outer, (int)(x[0].Length / outer));
        });
    }

    private void CompileReshape(NodeProto node, OnnxAttributes a)
    {
        bool allowZero = a.IntIn("allowzero", 0, 0, 1) == 1;
        long[] shape = Longs(node, RequiredConstant(node, 1, "shape"), "shape");
        if (shape.Any(d => d < -1 || d > int.MaxValue) || shape.Count(d => d == -1) > 1)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)}: invalid shape [{string.Join(", ", shape)}]");
        if (allowZero && shape.Contains(0))
            throw a.Unsupported("allowzero=1 with a 0 in the shape (an empty tensor)");
        Emit(node, [Runtime(node, 0)], x =>
        {
            int[] s = x[0].Shape;
            int[] target = new int[shape.Length];
            for (int i = 0; i < shape.Length; i++)
            {
                if (shape[i] == 0 && i >= s.Length)
                    throw new ArgumentException($"shape [{string.Join(", ", shape)}] copies dimension {i} of a rank-{s.Length} input.");
                target[i] = shape[i] == 0 ? s[i] : (int)shape[i];
            }

            return x[0].Reshape(target);
        });
    }
}
