using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace CnnNative.Benchmarks.Peers;

using Tensor = TorchSharp.torch.Tensor; // inside the namespace: CnnNative.Tensor would win otherwise

/// <summary>
/// libtorch 2.10 eager through TorchSharp: TorchVision's definition of the same architecture (random weights:
/// TorchSharp cannot read ONNX, and speed does not depend on the weights' values), eval mode, no grad,
/// <c>torch.set_num_threads</c> = ours. Only models TorchVision 0.107 defines.
/// </summary>
public sealed class TorchRunner : IModelRunner
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly Tensor _input;
    private readonly int _threads;

    private TorchRunner(nn.Module<Tensor, Tensor> model, int[] inputShape, int threads, float[] input)
    {
        _model = model;
        _model.eval();
        _threads = threads;
        _input = tensor(input, Array.ConvertAll(inputShape, d => (long)d));
    }

    /// <summary>The runner, or null (with the reason) where TorchVision has no such model.</summary>
    public static TorchRunner? TryCreate(string model, int[] inputShape, int threads, float[] input, out string? why)
    {
        MethodInfo? factory = typeof(torchvision.models).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .FirstOrDefault(m => m.Name == model && typeof(nn.Module<Tensor, Tensor>).IsAssignableFrom(m.ReturnType)
                                 && m.GetParameters().All(p => p.HasDefaultValue));
        if (factory is null)
        {
            why = $"TorchVision {typeof(torchvision).Assembly.GetName().Version} defines no '{model}'";
            return null;
        }
        why = null;
        manual_seed(0);
        var instance = (nn.Module<Tensor, Tensor>)factory.Invoke(null, factory.GetParameters().Select(p => p.DefaultValue).ToArray())!;
        return new TorchRunner(instance, inputShape, threads, input);
    }

    public string Framework => "libtorch " + __version__;

    public string Describe() => $"{Framework} (TorchSharp {typeof(torch).Assembly.GetName().Version}): TorchVision definition, eval, no grad, {_threads} thread(s)";

    // Process-wide in libtorch: set before every round, since other configurations run in between.
    public void BeforeRound() => set_num_threads(_threads);

    public void Run()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        _model.call(_input);
    }

    public void Dispose()
    {
        _input.Dispose();
        _model.Dispose();
    }
}
