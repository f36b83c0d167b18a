using CnnNative.Inference;
using CnnNative.IO;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Onnx;
using CnnNative.Optim;

namespace CnnNative.Soak;

/// <summary>
/// The four operations the soak mixes, each returning its result as floats, and their single-threaded reference
/// results: a worker's result must equal the reference bit for bit (every op runs with a thread budget of 1, on
/// the same ISA, from the same weights and data, so nothing may depend on what the other threads are doing).
/// </summary>
internal sealed class Workload : IDisposable
{
    public const int Batch = 4;
    private static readonly int[] InputShape = [Batch, 1, 28, 28];
    private static readonly int[] OnnxInputShape = [1, 1, 6, 6];
    private static readonly int[] Labels = [3, 1, 4, 1];

    private readonly string _weightsPath;
    private readonly string _onnxPath;
    private readonly float[] _input;
    private readonly float[] _onnxInput;
    private readonly LeNet5 _model;
    private readonly InferenceSession _session;
    // Eager forward: a model per worker thread, loaded from the saved weights (Module documents no concurrent use).
    private readonly ThreadLocal<LeNet5> _threadModel;

    public static readonly string[] Names = ["session.run", "eager.forward", "training.step", "load.dispose"];

    public Workload(string directory)
    {
        Cnn.ManualSeed(1234);
        _model = new LeNet5();
        _model.Eval();
        _weightsPath = Path.Combine(directory, "lenet5.safetensors");
        Safetensors.Save(_weightsPath, _model.StateDict().Select(p => KeyValuePair.Create(p.Key, p.Value)));
        _onnxPath = Path.Combine(AppContext.BaseDirectory, "soak.onnx");
        using (Tensor x = Tensor.Randn(77, InputShape)) _input = x.ToArray();
        using (Tensor x = Tensor.Randn(78, OnnxInputShape)) _onnxInput = x.ToArray();
        // One session shared by all workers: Run is documented as safe from MaxConcurrency threads at once.
        _threadModel = new ThreadLocal<LeNet5>(() =>
        {
            var m = new LeNet5();
            LoadWeights(m);
            m.Eval();
            return m;
        }, trackAllValues: true);
        _session = InferenceSession.Create(_model, InputShape, new InferenceSessionOptions { NumThreads = 1, MaxConcurrency = 8 });
        References = Names.Select(Run).ToArray();
    }

    /// <summary>The single-threaded results, by operation index.</summary>
    public float[][] References { get; }

    public float[] Run(string name) => name switch
    {
        "session.run" => SessionRun(),
        "eager.forward" => EagerForward(_threadModel.Value!),
        "training.step" => TrainingStep(),
        "load.dispose" => LoadAndDispose(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown soak operation"),
    };

    public float[] Run(int index) => Run(Names[index]);

    private float[] SessionRun()
    {
        float[] output = new float[_session.OutputShape.Aggregate(1, (a, d) => a * d)];
        _session.Run(_input, output);
        return output;
    }

    private float[] EagerForward(Module model)
    {
        using IDisposable _ = Autograd.NoGrad();
        using Tensor x = Tensor.FromArray((float[])_input.Clone(), InputShape);
        using Tensor y = model.Forward(x);
        return y.ToArray();
    }

    /// <summary>A fresh model from the saved weights, one SGD step with momentum: the loss and every updated parameter.</summary>
    private float[] TrainingStep()
    {
        using var model = new LeNet5();
        LoadWeights(model);
        model.Train();
        var optimizer = new SGD(model.Parameters(), lr: 0.05f, momentum: 0.9f);
        var result = new List<float>();
        for (int step = 0; step < 2; step++)
        {
            optimizer.ZeroGrad();
            using Tensor x = Tensor.FromArray((float[])_input.Clone(), InputShape);
            using Tensor logits = model.Forward(x);
            using Tensor loss = Functional.CrossEntropy(logits, Labels);
            loss.Backward();
            optimizer.Step();
            result.Add(loss.Item());
        }

        foreach (Tensor p in model.Parameters()) result.AddRange(p.ToArray());
        return result.ToArray();
    }

    /// <summary>Loads the safetensors weights into a new model and the ONNX file, runs both, disposes everything.</summary>
    private float[] LoadAndDispose()
    {
        using var model = new LeNet5();
        LoadWeights(model);
        model.Eval();
        float[] eager = EagerForward(model);
        using OnnxModel onnx = OnnxModel.Load(_onnxPath);
        using IDisposable _ = Autograd.NoGrad();
        using Tensor x = Tensor.FromArray((float[])_onnxInput.Clone(), OnnxInputShape);
        using Tensor y = onnx.Forward(x);
        return [.. eager, .. y.ToArray()];
    }

    private void LoadWeights(Module model)
    {
        Dictionary<string, Tensor> state = Safetensors.Load(_weightsPath);
        try
        {
            model.LoadStateDict(state);
        }
        finally
        {
            foreach (Tensor t in state.Values) t.Dispose();
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _model.Dispose();
        foreach (LeNet5 m in _threadModel.Values) m.Dispose();
        _threadModel.Dispose();
    }
}
