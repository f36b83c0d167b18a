using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// Receives the <see cref="Functional"/> ops run on one thread. Each op calls ONE hook (<see cref="Trace"/>)
/// after it computed its output; the thread's listener (if any) gets the op's full arguments. Consumers:
/// <see cref="Trace.Recorder"/> (builds an <see cref="InferenceSession"/>'s graph) and
/// <see cref="FunctionalRecorder"/> (the layer table of <c>cnn inspect</c>). Every method is a no-op by default,
/// so a consumer overrides only what it needs.
/// </summary>
internal abstract class OpListener
{
    public virtual void Conv2d(in CnnConv2dParams p, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output)
    {
    }

    public virtual void Pool2d(in CnnPool2dParams p, Tensor input, Tensor output)
    {
    }

    public virtual void GlobalAvgPool2d(Tensor input, Tensor output)
    {
    }

    public virtual void BatchNorm2d(in CnnBatchNorm2dParams p, Tensor input, Tensor mean, Tensor variance, Tensor? weight, Tensor? bias,
        Activation activation, Tensor output)
    {
    }

    public virtual void Activation(Activation activation, Tensor input, Tensor output)
    {
    }

    public virtual void Linear(int batch, int inFeatures, int outFeatures, Tensor input, Tensor weight, Tensor? bias, Activation activation,
        Tensor output)
    {
    }

    public virtual void Softmax(int outer, int classes, int inner, bool log, Tensor input, Tensor output)
    {
    }

    public virtual void Add(Tensor a, Tensor b, Activation activation, Tensor output)
    {
    }

    public virtual void Mul(Tensor a, Tensor b, Tensor output)
    {
    }

    public virtual void Clamp(float min, float max, Tensor input, Tensor output)
    {
    }

    public virtual void Broadcast(CnnBinaryOp op, Tensor a, Tensor b, Tensor output)
    {
    }

    public virtual void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor output)
    {
    }

    public virtual void Narrow(long outer, long block, long srcStride, long offset, Tensor input, Tensor output)
    {
    }

    public virtual void AdaptiveAvgPool2d(Tensor input, Tensor output)
    {
    }

    /// <summary>
    /// <c>input * scale + shift</c> over [outer, channels, inner]: <c>scale</c>/<c>shift</c> are the expanded per-channel
    /// values the kernel used, <c>scaleTensor</c>/<c>shiftTensor</c> the caller's tensors (each may be null).
    /// </summary>
    public virtual void ScaleShift(long outer, long channels, long inner, float[]? scale, float[]? shift, Tensor? scaleTensor, Tensor? shiftTensor,
        Tensor input, Tensor output)
    {
    }

    /// <summary>An op with no inference-time equivalent (training ops, losses) ran.</summary>
    public virtual void Unsupported(string op)
    {
    }

    /// <summary>Element access to a tensor (<c>AsSpan</c>, <c>ToArray</c>, ...).</summary>
    public virtual void Access(Tensor tensor, string what)
    {
    }

    /// <summary>A named group of ops starts (an ONNX node); it ends with <see cref="EndNode"/>.</summary>
    public virtual void BeginNode(string name, string op)
    {
    }

    /// <summary>The node begun last produced <paramref name="result"/> (possibly a view or its input, computed by no op).</summary>
    public virtual void EndNode(Tensor result)
    {
    }
}
