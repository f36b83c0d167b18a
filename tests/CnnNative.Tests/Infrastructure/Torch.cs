using System.Runtime.InteropServices;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The in-process libtorch oracle (TorchSharp 0.107.0 = libtorch 2.10): conversions between CnnNative
/// tensors and float64 torch tensors, and the load check every oracle test goes through. If TorchSharp
/// cannot load, <see cref="Ensure"/> throws with the way to fix it, so every oracle test fails (never skips).
/// </summary>
public static class Torch
{
    /// <summary>What makes TorchSharp load here (part of every load failure message).</summary>
    public const string InstallHint =
        "run the tests through ./build.sh test: it restores TorchSharp 0.107.0 + libtorch-cpu-linux-x64 2.10.0 and, " +
        "where the system libstdc++ is older than GCC 13 (Debian 12), preloads the shim that " +
        "tests/torchsharp-compat/setup.sh builds (LD_PRELOAD=$(tests/torchsharp-compat/setup.sh <test bin>/runtimes/linux-x64/native build/torchsharp-compat))";

    private static readonly Lazy<string> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>libtorch's version ("2.10.0.0"); loads TorchSharp on first use.</summary>
    public static string Version => Ensure();

    /// <summary>Loads TorchSharp once; throws <see cref="InvalidOperationException"/> naming the fix when it cannot.</summary>
    public static string Ensure() => Loaded.Value;

    private static string Load()
    {
        try
        {
            string version = torch.__version__;
            // Reproducible references: one thread (the oracle's answer must not depend on the machine's
            // core count or on our own thread pool running beside it), deterministic algorithms.
            torch.set_num_threads(1);
            return version;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            throw LoadFailure(e);
        }
    }

    /// <summary>The exception <see cref="Ensure"/> throws when TorchSharp did not load: the fix, then the innermost cause.</summary>
    internal static InvalidOperationException LoadFailure(Exception e) =>
        new($"the libtorch oracle (TorchSharp) did not load: {InstallHint}. Cause: {Innermost(e).Message.Split('\n')[0]}", e);

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    /// <summary>A float64 torch copy of <paramref name="t"/> (same shape), optionally a leaf that requires grad.</summary>
    public static TT From(Tensor t, bool requiresGrad = false) => From(t.ToArray(), t.Shape, requiresGrad);

    /// <summary>A float64 torch tensor of <paramref name="shape"/> holding <paramref name="data"/>.</summary>
    public static TT From(float[] data, int[] shape, bool requiresGrad = false)
    {
        Ensure();
        var values = new double[data.Length];
        for (int i = 0; i < data.Length; i++) values[i] = data[i];
        return torch.tensor(values, Array.ConvertAll(shape, d => (long)d), dtype: torch.ScalarType.Float64, requires_grad: requiresGrad);
    }

    /// <summary>The values of <paramref name="t"/> (any float dtype, any layout) as float32, row-major.</summary>
    public static float[] ToFloats(TT t)
    {
        using var c = t.detach().to_type(torch.ScalarType.Float32).contiguous();
        return c.data<float>().ToArray();
    }

    /// <summary>The shape of <paramref name="t"/> as ints.</summary>
    public static int[] ShapeOf(TT t) => Array.ConvertAll(t.shape, d => checked((int)d));

    /// <summary>True where the process runs with a libstdc++ that needed the GCC-13 shim (for the test log).</summary>
    public static bool UsesCompatShim =>
        (Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "").Contains("ios_init_shim", StringComparison.Ordinal);

    /// <summary>The native libtorch file TorchSharp resolved, if the OS reports it (diagnostics only).</summary>
    public static string? LibraryPath => RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
        ? File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
              .Where(f => f.Length >= 6 && f[^1].EndsWith("libtorch_cpu.so", StringComparison.Ordinal))
              .Select(f => f[^1]).FirstOrDefault()
        : null;
}
