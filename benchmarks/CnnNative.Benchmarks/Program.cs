using BenchmarkDotNet.Running;

namespace CnnNative.Benchmarks;

/// <summary>
/// Runs the side-by-side kernel suite (CnnNative vs oneDNN, <see cref="KernelBenchmarks"/>) through
/// BenchmarkDotNet's switcher, so its usual options work (--list flat, --artifacts DIR, ...).
/// Extra switches: --quick (a few cases at batch 1, short job: a smoke run), --cases A,B (only
/// cases whose name contains A or B, e.g. --cases "3x3 64->64,maxpool") and --per-call (also the stateless
/// conv on AVX-512, weights packed in every call, beside the conv plans). Everything runs unless
/// --filter is given (never the interactive prompt).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--peers"))
        {
            return Peers.PeerBench.Run(args); // whole models vs ONNX Runtime and libtorch (not BenchmarkDotNet)
        }
        if (args.Contains("--train-peers"))
        {
            return Peers.TrainPeerBench.Run(args); // training steps vs libtorch
        }
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--quick")
            {
                BenchSettings.Quick = true;
            }
            else if (args[i] == "--per-call")
            {
                BenchSettings.PerCall = true;
            }
            else if (args[i] == "--cases" && i + 1 < args.Length)
            {
                BenchSettings.CasePatterns = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        bool hasFilter = rest.Any(a => a is "--filter" or "-f" || a.StartsWith("--filter=", StringComparison.Ordinal));
        bool wantsListOrHelp = rest.Any(a => a is "--list" or "--help" or "-h" or "--info" or "--version");
        if (!hasFilter && !wantsListOrHelp)
        {
            rest.AddRange(["--filter", "*"]);
        }

        Console.WriteLine($"// oneDNN: {OneDnnShim.Version()}; CnnNative {Cnn.Version}");
        var config = BenchConfig.Create(BenchSettings.Quick);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], config).ToList();
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }
}
