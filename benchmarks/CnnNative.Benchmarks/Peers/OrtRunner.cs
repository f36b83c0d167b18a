using Microsoft.ML.OnnxRuntime;

namespace CnnNative.Benchmarks.Peers;

/// <summary>
/// ONNX Runtime, configured the way a careful user would: all graph optimisations, intra-op threads equal to
/// ours, one inter-op thread, sequential execution, inputs and outputs pre-bound as OrtValues over managed
/// arrays (no copies, no allocation per Run).
/// </summary>
public sealed class OrtRunner : IModelRunner
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtIoBinding _binding;
    private readonly List<OrtValue> _values = [];

    public OrtRunner(string onnxPath, int[] inputShape, int threads, float[] input)
    {
        _options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(onnxPath, _options);
        long[] shape = Array.ConvertAll(inputShape, d => (long)d);
        var inputValue = OrtValue.CreateTensorValueFromMemory(input, shape);
        _values.Add(inputValue);
        string inputName = _session.InputNames[0];

        // Output shapes: one untimed run tells them (the batch dimension is dynamic in the file).
        _binding = _session.CreateIoBinding();
        _binding.BindInput(inputName, inputValue);
        using (var first = _session.Run(_runOptions, [inputName], [inputValue], _session.OutputNames))
        {
            for (int i = 0; i < first.Count; i++)
            {
                long[] outShape = first[i].GetTensorTypeAndShape().Shape;
                var buffer = new float[outShape.Aggregate(1L, (a, d) => a * d)];
                var value = OrtValue.CreateTensorValueFromMemory(buffer, outShape);
                _values.Add(value);
                _binding.BindOutput(_session.OutputNames[i], value);
            }
        }
    }

    public string Framework => "ONNX Runtime " + OrtEnv.Instance().GetVersionString();

    public string Describe() => $"{Framework}: ORT_ENABLE_ALL, intra-op threads {_options.IntraOpNumThreads}, I/O bound";

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        _values.ForEach(v => v.Dispose());
        _session.Dispose();
        _runOptions.Dispose();
        _options.Dispose();
    }
}
