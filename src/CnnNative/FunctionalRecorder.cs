using CnnNative.Inference;
using CnnNative.Interop;

namespace CnnNative;

/// <summary>One Functional op observed by <see cref="FunctionalRecorder"/>.</summary>
/// <param name="Op">The Functional op (Conv2d, Linear, Relu, MaxPool2d, ...).</param>
/// <param name="Scope">The scope it ran in (an ONNX node name), or null.</param>
/// <param name="ScopeOp">The scope's operator (an ONNX op type), or null.</param>
/// <param name="OutputShape">The output's shape.</param>
/// <param name="Parameters">The weight and bias tensors it read (not copies; do not dispose).</param>
/// <param name="Macs">Multiply-accumulates (convolutions and linear layers; 0 for others).</param>
internal sealed record FunctionalRecord(string Op, string? Scope, string? ScopeOp, int[] OutputShape, Tensor[] Parameters, long Macs);

/// <summary>
/// Lets a caller observe the Functional ops run on its thread (the layer table of <c>cnn inspect</c>): a consumer
/// of the ops' <see cref="Trace"/> hooks that turns each op into its output shape, parameters and MACs, and each
/// ONNX node into one more record of the node's result (so views and copies get a row too).
/// </summary>
internal sealed class FunctionalRecorder : OpListener
{
    private readonly List<FunctionalRecord> _sink;
    private (string Name, string Op)? _scope;

    private FunctionalRecorder(List<FunctionalRecord> sink) => _sink = sink;

    /// <summary>Records the ops of this thread into <paramref name="sink"/> until the result is disposed.</summary>
    public static IDisposable Start(List<FunctionalRecord> sink) => Trace.Listen(new FunctionalRecorder(sink));

    public override void Conv2d(in CnnConv2dParams p, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output) =>
        Record("Conv2d", output, weight, bias, output.Length * (weight.Length / weight.Size(0)));

    public override void Pool2d(in CnnPool2dParams p, Tensor input, Tensor output) => Record(p.Kind + "Pool2d", output);

    public override void GlobalAvgPool2d(Tensor input, Tensor output) => Record("GlobalAvgPool2d", output);

    public override void BatchNorm2d(in CnnBatchNorm2dParams p, Tensor input, Tensor mean, Tensor variance, Tensor? weight, Tensor? bias,
        Activation activation, Tensor output) =>
        Record("BatchNorm2d", output, weight, bias);

    public override void Activation(Activation activation, Tensor input, Tensor output) => Record(activation.ToString(), output);

    public override void Linear(int batch, int inFeatures, int outFeatures, Tensor input, Tensor weight, Tensor? bias, Activation activation,
        Tensor output) =>
        Record("Linear", output, weight, bias, output.Length * inFeatures);

    public override void Softmax(int outer, int classes, int inner, bool log, Tensor input, Tensor output) =>
        Record(log ? "LogSoftmax" : "Softmax", output);

    public override void Add(Tensor a, Tensor b, Activation activation, Tensor output) => Record("Add", output);

    public override void Mul(Tensor a, Tensor b, Tensor output) => Record("Mul", output);

    public override void Clamp(float min, float max, Tensor input, Tensor output) => Record("Clamp", output);

    public override void Broadcast(CnnBinaryOp op, Tensor a, Tensor b, Tensor output) => Record(op.ToString(), output);

    public override void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor output) => Record("Concat", output);

    public override void Narrow(long outer, long block, long srcStride, long offset, Tensor input, Tensor output) => Record("Narrow", output);

    public override void AdaptiveAvgPool2d(Tensor input, Tensor output) => Record("AdaptiveAvgPool2d", output);

    // A constant scale/shift (ONNX Mul or Add by a constant) counts as the layer's parameter.
    public override void ScaleShift(long outer, long channels, long inner, float[]? scale, float[]? shift, Tensor? scaleTensor, Tensor? shiftTensor,
        Tensor input, Tensor output) =>
        Record("ScaleShift", output, scaleTensor, shiftTensor);

    public override void BeginNode(string name, string op) => _scope = (name, op);

    public override void EndNode(Tensor result)
    {
        if (_scope is { } scope)
            Record(scope.Op, result);
        _scope = null;
    }

    private void Record(string op, Tensor output, Tensor? weight = null, Tensor? bias = null, long macs = 0)
    {
        Tensor[] parameters = (weight, bias) switch
        {
            (null, null) => [],
            (null, { } b) => [b],
            ({ } w, null) => [w],
            ({ } w, { } b) => [w, b],
        };
        _sink.Add(new FunctionalRecord(op, _scope?.Name, _scope?.Op, output.Shape, parameters, macs));
    }
}
