using BenchmarkDotNet.Attributes;
using CnnNative.Inference;
using CnnNative.Models;
using CnnNative.Nn;

namespace CnnNative.Benchmarks;

/// <summary>
/// Whole-model inference at batch 1: the module's <c>Forward</c> under <see cref="Autograd.NoGrad"/> (a tensor per
/// layer, batch norm as its own pass) against a compiled <see cref="InferenceSession"/> (batch norm folded,
/// activations fused, one arena, nothing allocated per call). LeNet-5 on 1x28x28, ResNet-18 on 3x224x224, with
/// the best ISA of this CPU and all hardware threads (the defaults of the setup thread, which also runs the workload).
/// </summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private Module _model = null!;
    private InferenceSession _session = null!;
    private Tensor _input = null!;
    private float[] _inputArray = null!;
    private float[] _output = null!;

    [Params("LeNet5", "ResNet18")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        Cnn.ManualSeed(1);
        int[] shape;
        (_model, shape) = Model switch
        {
            "LeNet5" => ((Module)new LeNet5(10), new[] { 1, 1, 28, 28 }),
            _ => (ResNet.ResNet18(1000), new[] { 1, 3, 224, 224 }),
        };
        _model.Eval();
        _input = Tensor.Randn(2, shape);
        _inputArray = _input.ToArray();
        _session = InferenceSession.Create(_model, shape);
        _output = new float[_session.OutputShape.Aggregate(1, (a, d) => a * d)];
        Console.WriteLine($"// {Model}: {_session}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _input.Dispose();
        _model.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Module.Forward (NoGrad)")]
    public float Forward()
    {
        using IDisposable _ = Autograd.NoGrad();
        using Tensor y = _model.Forward(_input);
        return y.Length;
    }

    [Benchmark(Description = "InferenceSession.Run")]
    public float SessionRun()
    {
        _session.Run(_inputArray, _output);
        return _output[0];
    }
}
