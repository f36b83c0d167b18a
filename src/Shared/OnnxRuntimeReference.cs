using Microsoft.ML.OnnxRuntime;

namespace CnnNative.Oracle;

/// <summary>
/// ONNX Runtime (Microsoft.ML.OnnxRuntime 1.32, in-process) as the reference for ONNX files: the test suite's
/// ONNX oracle and <c>cnn verify --onnx</c>. Shared source (linked into the test project and the CLI; the
/// library never references ONNX Runtime). Graph optimizations are off, so ORT evaluates the file node by node
/// as the ONNX spec defines each operator, not a fused rewrite of it; one intra-op thread (deterministic sums).
/// </summary>
internal static class OnnxRuntimeReference
{
    /// <summary>One float32 tensor by name: row-major data and its shape.</summary>
    internal sealed record NamedArray(string Name, float[] Data, int[] Shape);

    /// <summary>Runs the model file on <paramref name="inputs"/> (float32, by graph input name); every graph output, in graph order.</summary>
    public static IReadOnlyList<NamedArray> Run(string path, IReadOnlyList<NamedArray> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (NamedArray input in inputs)
                values.Add(OrtValue.CreateTensorValueFromMemory(input.Data, input.Shape.Select(d => (long)d).ToArray()));
            using var runOptions = new RunOptions();
            string[] outputNames = [.. session.OutputNames];
            using IDisposableReadOnlyCollection<OrtValue> results =
                session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, outputNames);
            var outputs = new List<NamedArray>(outputNames.Length);
            for (int i = 0; i < outputNames.Length; i++)
            {
                OrtValue result = results[i];
                int[] shape = result.GetTensorTypeAndShape().Shape.Select(d => checked((int)d)).ToArray();
                outputs.Add(new NamedArray(outputNames[i], result.GetTensorDataAsSpan<float>().ToArray(), shape));
            }

            return outputs;
        }
        finally
        {
            foreach (OrtValue v in values)
                v.Dispose();
        }
    }
}
