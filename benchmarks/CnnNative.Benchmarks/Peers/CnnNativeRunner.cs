using System.Globalization;
using CnnNative.Inference;
using CnnNative.Onnx;

namespace CnnNative.Benchmarks.Peers;

/// <summary>CnnNative: the ONNX file through <see cref="OnnxModel.Load(string, OnnxLoadOptions?)"/> into a compiled
/// <see cref="InferenceSession"/> on caller-owned arrays (the way the README tells users to deploy).</summary>
public sealed class CnnNativeRunner : IModelRunner
{
    private readonly OnnxModel _model;
    private readonly InferenceSession _session;
    private readonly float[] _input;
    private readonly float[] _output;
    private readonly long _weightBytes;

    public CnnNativeRunner(string onnxPath, int[] inputShape, int threads, float[] input)
    {
        _model = OnnxModel.Load(onnxPath);
        _weightBytes = _model.ParameterCount() * sizeof(float);
        _session = InferenceSession.Create(_model, inputShape, new InferenceSessionOptions { NumThreads = threads });
        _input = input;
        _output = new float[_session.OutputShape.Aggregate(1L, (a, d) => a * d)];
    }

    public string Framework => "CnnNative";

    /// <summary>Session bytes beyond the arena per byte of the model's weights (the memory rule: at most 1.5).</summary>
    public double WeightOverhead => (double)(_session.ConstantBytes + _session.ConvPlanBytes) / Math.Max(1, _weightBytes);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"CnnNative {Cnn.Version}: weights {_weightBytes / 1e6:F1} MB; session constants {_session.ConstantBytes / 1e6:F1} MB + conv plans {_session.ConvPlanBytes / 1e6:F1} MB ({WeightOverhead:F2}x the weights), arena {_session.ArenaBytes / 1e6:F1} MB");

    public void Run() => _session.Run(_input, _output);

    public void Dispose()
    {
        _session.Dispose();
        _model.Dispose();
    }
}
