using System.Runtime.CompilerServices;
using CnnNative.Interop;
using CnnNative.Nn;

namespace CnnNative.Inference;

/// <summary>
/// A model compiled for inference at one input shape: a fixed list of native calls with precomputed parameters,
/// batch norm folded into convolutions, activations fused into epilogues, and every intermediate tensor placed
/// in one preallocated arena. After the first run on a thread's execution context, <see cref="Run(ReadOnlySpan{float}, Span{float})"/>
/// allocates nothing, managed or native.
/// </summary>
/// <remarks>
/// <para><b>Compilation.</b> <see cref="Create"/> traces one forward pass of the model (in eval mode, under
/// <see cref="Autograd.NoGrad"/>, on a random input of the given shape): every <see cref="Functional"/> op records
/// itself. Ops without an inference form (training ops, losses), tensors computed outside the ops, and element
/// access to intermediate tensors in <c>Forward</c> (data-dependent control flow) are
/// <see cref="NotSupportedException"/>s naming the op. The plan is then run once on the trace input and compared
/// with the model's own output. The control flow of that one pass is what the session replays.</para>
/// <para><b>Weights are copied</b> (folded) into the session when it is created: later changes to the module
/// (training, <c>LoadStateDict</c>, disposing it) do not affect the session; create a new one to pick them up.</para>
/// <para><b>Threads.</b> One session can be run from several threads at once. Each running call takes an
/// execution context (a native context with the session's ISA and thread budget, and its own arena) from a pool;
/// when none is idle a new one is created, up to <see cref="InferenceSessionOptions.MaxConcurrency"/>, after which
/// callers wait for one to be returned. Contexts are kept for reuse until <see cref="Dispose"/>. Results do not
/// depend on which context runs a call.</para>
/// </remarks>
public sealed unsafe class InferenceSession : IDisposable
{
    private readonly ExecutionPlan _plan;
    private readonly NativeBuffer _constants;
    private readonly Conv2dPlanSet _convPlans;
    private readonly int[] _inputShape;
    private readonly int[] _outputShape;
    private readonly long _inputLength;
    private readonly long _outputLength;
    private readonly CnnIsa _isa;
    private readonly int _numThreads;
    private readonly int _maxContexts;
    private readonly Stack<ExecutionContext> _idle;
    private int _contexts;
    private bool _disposed;

    private InferenceSession(ExecutionPlan plan, int[] inputShape, int[] outputShape, CnnIsa isa, int numThreads, int maxContexts)
    {
        _plan = plan;
        _inputShape = inputShape;
        _outputShape = outputShape;
        _inputLength = inputShape.Aggregate(1L, (a, d) => a * d);
        _outputLength = outputShape.Aggregate(1L, (a, d) => a * d);
        _isa = isa;
        _numThreads = numThreads;
        _maxContexts = maxContexts;
        _idle = new Stack<ExecutionContext>(maxContexts);
        _constants = plan.Constants;
        try
        {
            _convPlans = Conv2dPlanSet.Create(plan.Steps, plan.ConvWeights, isa, numThreads);
            plan.ReleaseConvWeights(); // the plans hold the only copy the session keeps
        }
        catch
        {
            _constants.Dispose();
            throw;
        }
    }

    /// <summary>The input shape the session was compiled for (a copy).</summary>
    public int[] InputShape => (int[])_inputShape.Clone();

    /// <summary>The output shape (a copy).</summary>
    public int[] OutputShape => (int[])_outputShape.Clone();

    /// <summary>The kernel family every run uses.</summary>
    public CnnIsa Isa => _isa;

    /// <summary>The thread budget of each op of a run.</summary>
    public int NumThreads => _numThreads;

    /// <summary>Bytes of one execution context's arena (all intermediate tensors, with reuse).</summary>
    public long ArenaBytes => _plan.ArenaBytes;

    /// <summary>Sum of the sizes of all intermediate tensors: what the arena would need without reuse.</summary>
    public long IntermediateBytes => _plan.IntermediateBytes;

    /// <summary>
    /// Native bytes of the constants buffer: the weights and statistics the non-convolution steps read (linear layers,
    /// batch norms not folded, constant operands). Convolution weights are not in it, see <see cref="ConvPlanBytes"/>.
    /// </summary>
    public long ConstantBytes => _plan.ConstantBytes;

    /// <summary>
    /// Native bytes of the prepacked convolutions, one per conv step: the folded weights (for Winograd the 6x6 transformed
    /// filters, 4x a 3x3 filter), conv biases and plan headers.
    /// </summary>
    public long ConvPlanBytes => _convPlans.Bytes;

    /// <summary>
    /// Native bytes the session holds for its model, whether it runs or not: <see cref="ConstantBytes"/> +
    /// <see cref="ConvPlanBytes"/>. Each execution context adds <see cref="ArenaBytes"/> and its native context's scratch.
    /// </summary>
    public long WeightBytes => ConstantBytes + ConvPlanBytes;

    /// <summary>The native calls of one run, in order, e.g. <c>Functional.Conv2d+Relu</c> for a fused epilogue.</summary>
    public IReadOnlyList<string> Steps => _plan.Names;

    /// <summary>
    /// Compiles <paramref name="model"/> for inputs of shape <paramref name="inputShape"/> (batch included).
    /// The model's training mode is restored afterwards.
    /// </summary>
    /// <param name="model">The model; it is traced once (eval mode, no grad).</param>
    /// <param name="inputShape">The input shape, e.g. [1, 3, 224, 224].</param>
    /// <param name="options">Threads, ISA, optimisations; null for the defaults.</param>
    /// <returns>The session; dispose it.</returns>
    /// <exception cref="ArgumentException">The shape is invalid, or the model rejects it.</exception>
    /// <exception cref="NotSupportedException">The model uses an op or construct the tracer cannot compile (named in the message).</exception>
    /// <exception cref="InvalidOperationException">The compiled plan does not reproduce the model's output on the trace input.</exception>
    public static InferenceSession Create(Module model, int[] inputShape, InferenceSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        options ??= new InferenceSessionOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrency, 1, nameof(options.MaxConcurrency));
        int[] shape = (int[])inputShape.Clone();
        Tensor.CheckShape(shape, nameof(inputShape));

        using Tensor input = Tensor.Randn(0x5E5510, shape);
        (Graph graph, float[] expected) = TraceModel(model, input);
        GraphOptimizer.Optimize(graph, options.FoldBatchNorm, options.FuseActivations);
        ExecutionPlan plan = ExecutionPlan.Compile(graph);

        var session = new InferenceSession(plan, shape, graph.OutputShape, options.Isa ?? Cnn.Isa, options.NumThreads ?? Cnn.NumThreads,
            options.MaxConcurrency);
        try
        {
            session.Verify(input, expected);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model on <paramref name="input"/> (row-major, <see cref="InputShape"/>) into <paramref name="output"/> (<see cref="OutputShape"/>).</summary>
    /// <exception cref="ArgumentException">A length differs from the session's shapes, or the spans overlap.</exception>
    /// <exception cref="ObjectDisposedException">The session is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<float> input, Span<float> output)
    {
        if (input.Length != _inputLength)
        {
            throw new ArgumentException(
                $"input has {input.Length} elements; the session's input shape {Tensor.FormatShape(_inputShape)} has {_inputLength}.", nameof(input));
        }

        if (output.Length != _outputLength)
        {
            throw new ArgumentException(
                $"output has {output.Length} elements; the session's output shape {Tensor.FormatShape(_outputShape)} has {_outputLength}.", nameof(output));
        }

        if (input.Overlaps(output))
        {
            throw new ArgumentException("output overlaps input; the session writes its output while reading the input.", nameof(output));
        }

        fixed (float* pi = input)
        fixed (float* po = output)
        {
            Execute(pi, po);
        }
    }

    /// <summary>Runs the model on a tensor of <see cref="InputShape"/> into a tensor of <see cref="OutputShape"/>.</summary>
    /// <exception cref="ArgumentException">A shape differs from the session's, or the tensors share storage.</exception>
    /// <exception cref="ObjectDisposedException">The session or a tensor is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(Tensor input, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (!input.HasShape(_inputShape))
        {
            throw new ArgumentException(
                $"input has shape {Tensor.FormatShape(input.Dims)}; the session was compiled for {Tensor.FormatShape(_inputShape)}.", nameof(input));
        }

        if (!output.HasShape(_outputShape))
        {
            throw new ArgumentException(
                $"output has shape {Tensor.FormatShape(output.Dims)}; the session's output shape is {Tensor.FormatShape(_outputShape)}.", nameof(output));
        }

        if (output.SharesStorageWith(input))
        {
            throw new ArgumentException("output shares storage with input; the session writes its output while reading the input.", nameof(output));
        }

        using TensorPin pi = input.Pin();
        using TensorPin po = output.Pin();
        Execute(pi.Pointer, po.Pointer);
        output.MarkWritten();
    }

    /// <summary>Releases the constants, the conv plans and every idle execution context (those still running are released when their call returns).</summary>
    public void Dispose()
    {
        lock (_idle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            while (_idle.Count > 0)
            {
                _idle.Pop().Dispose();
            }

            Monitor.PulseAll(_idle);
        }

        _convPlans.Dispose();
        _constants.Dispose();
    }

    /// <summary>Shapes, step count and memory, e.g. for logs.</summary>
    public override string ToString() =>
        $"InferenceSession({Tensor.FormatShape(_inputShape)} -> {Tensor.FormatShape(_outputShape)}, {_plan.Steps.Length} steps, " +
        $"arena {ArenaBytes} B of {IntermediateBytes} B intermediates, {ConstantBytes} B constants, {ConvPlanBytes} B conv plans)";

    /// <summary>One eval-mode, no-grad forward pass recorded; returns the graph and the model's output on <paramref name="input"/>.</summary>
    private static (Graph Graph, float[] Output) TraceModel(Module model, Tensor input)
    {
        var modes = model.NamedModules().Select(m => (m.Module, m.Module.Training)).ToList();
        model.Eval();
        try
        {
            using IDisposable noGrad = Autograd.NoGrad();
            Trace.Recorder recorder = Trace.Begin(input);
            Tensor output;
            try
            {
                output = model.Forward(input);
            }
            finally
            {
                Trace.End();
            }

            using (output)
            {
                recorder.Finish(output);
                return (recorder.Graph, output.ToArray());
            }
        }
        finally
        {
            foreach (var (module, training) in modes)
            {
                module.Train(training);
            }
        }
    }

    /// <summary>The plan on the trace input must give the model's output (up to the rounding of folding): catches a trace that does not replay.</summary>
    private void Verify(Tensor input, float[] expected)
    {
        var actual = new float[_outputLength];
        Run(input.AsSpan(), actual);
        double scale = expected.Where(float.IsFinite).Select(v => (double)Math.Abs(v)).DefaultIfEmpty(0).Max();
        double tolerance = 1e-3 + (1e-3 * scale);
        for (int i = 0; i < actual.Length; i++)
        {
            bool same = float.IsFinite(expected[i]) ? Math.Abs(actual[i] - expected[i]) <= tolerance : actual[i].Equals(expected[i]);
            if (!same)
            {
                throw new InvalidOperationException(
                    $"InferenceSession: the compiled plan gives {actual[i]} at output element {i} where the model gives {expected[i]}; " +
                    "the model's forward pass is not a fixed sequence of Functional ops on its input (data-dependent behaviour?).");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Execute(float* input, float* output)
    {
        ExecutionContext context = Rent();
        bool added = false, addedPlans = false;
        try
        {
            _constants.DangerousAddRef(ref added);
            _convPlans.DangerousAddRef(ref addedPlans);
            Execute(context, input, output, (float*)_constants.DangerousGetHandle());
        }
        finally
        {
            if (addedPlans)
            {
                _convPlans.DangerousRelease();
            }

            if (added)
            {
                _constants.DangerousRelease();
            }

            Return(context);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tiering or OSR transitions (and their allocations) in steady state
    private void Execute(ExecutionContext context, float* input, float* output, float* k)
    {
        nint ctx = context.Context;
        byte* arena = context.Arena;
        Step[] steps = _plan.Steps;
        for (int i = 0; i < steps.Length; i++)
        {
            ref Step s = ref steps[i];
            float* x = At(s.In0, input, output, arena, k);
            float* y = At(s.Out, input, output, arena, k);
            fixed (Step* p = &s)
            {
                Native.Check(s.Kind switch
                {
                    OpKind.Conv2d => NativeMethods.cnn_conv2d_plan_forward(ctx, _convPlans[i], p->Conv.Batch, x, y),
                    OpKind.Pool2d => NativeMethods.cnn_pool2d_forward(ctx, &p->Pool, x, y),
                    OpKind.GlobalAvgPool2d => NativeMethods.cnn_global_average_pool2d_forward(ctx, s.D0, s.D1, s.D2, s.D3, x, y),
                    OpKind.BatchNorm2d => NativeMethods.cnn_batch_norm2d_inference(ctx, &p->BatchNorm, x, k + s.Mean, k + s.Variance,
                        Optional(k, s.Weight), Optional(k, s.Bias), s.Activation, y),
                    OpKind.Activation => NativeMethods.cnn_activation_forward(ctx, s.Activation, s.Count, x, y),
                    OpKind.Linear => NativeMethods.cnn_linear_forward(ctx, s.D0, s.D1, s.D2, x, k + s.Weight, Optional(k, s.Bias), s.Activation, y),
                    OpKind.Softmax => NativeMethods.cnn_softmax_forward(ctx, s.D0, s.D1, s.D2, s.D3, x, y),
                    OpKind.Add => NativeMethods.cnn_add_forward(ctx, s.Count, x, At(s.In1, input, output, arena, k), s.Activation, y),
                    OpKind.Mul => NativeMethods.cnn_mul_forward(ctx, s.Count, x, At(s.In1, input, output, arena, k), y),
                    OpKind.Clamp => NativeMethods.cnn_clip_forward(ctx, s.Count, x, s.Min, s.Max, y),
                    OpKind.AdaptiveAvgPool2d => NativeMethods.cnn_adaptive_avg_pool2d_forward(ctx, s.D0, s.D1, s.D2, s.D3, s.D4, s.D5, x, y),
                    OpKind.ScaleShift => NativeMethods.cnn_scale_shift_forward(ctx, s.Outer, s.Count, s.Inner, x, Optional(k, s.Weight),
                        Optional(k, s.Bias), y),
                    OpKind.CopyBlocks => NativeMethods.cnn_copy_blocks(ctx, s.Outer, s.Count, x, s.SrcStride, y, s.DstStride, 0),
                    OpKind.Broadcast => NativeMethods.cnn_broadcast_binary_forward(ctx, (CnnBinaryOp)s.D1, s.D0, p->Shapes.A, x, p->Shapes.B,
                        At(s.In1, input, output, arena, k), y),
                    _ => throw new InvalidOperationException($"unknown step kind {s.Kind}"),
                });
            }
        }
    }

    private static float* At(in Operand operand, float* input, float* output, byte* arena, float* constants) =>
        (float*)(operand.Offset + operand.Kind switch
        {
            OperandKind.Input => (byte*)input,
            OperandKind.Output => (byte*)output,
            OperandKind.Constant => (byte*)constants,
            _ => arena,
        });

    private static float* Optional(float* constants, long offset) => offset < 0 ? null : constants + offset;

    /// <summary>An idle execution context, a new one below the cap, or the next one returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ExecutionContext Rent()
    {
        lock (_idle)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_idle.Count > 0)
                {
                    return _idle.Pop();
                }

                if (_contexts < _maxContexts)
                {
                    _contexts++;
                    break;
                }

                Monitor.Wait(_idle);
            }
        }

        try
        {
            return new ExecutionContext(_isa, _numThreads, _plan.ArenaBytes);
        }
        catch
        {
            lock (_idle)
            {
                _contexts--;
                Monitor.Pulse(_idle);
            }

            throw;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Return(ExecutionContext context)
    {
        lock (_idle)
        {
            if (_disposed)
            {
                context.Dispose();
                return;
            }

            _idle.Push(context);
            Monitor.Pulse(_idle);
        }
    }
}
