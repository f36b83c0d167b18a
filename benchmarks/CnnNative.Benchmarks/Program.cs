using BenchmarkDotNet.Running;

namespace CnnNative.Benchmarks;

/// <summary>
/// Runs the kernel suite through BenchmarkDotNet's switcher, so its usual options work
/// (--filter, --list flat, --job short, --artifacts DIR, ...). Extra switch: --quick, a smoke run
/// (1 warm-up, 3 iterations of 100 ms per case). With no --filter, everything runs (never the
/// interactive prompt).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick");
        var rest = args.Where(a => a != "--quick").ToList();
        BenchSettings.Quick = quick;

        bool hasFilter = rest.Any(a => a is "--filter" or "-f" || a.StartsWith("--filter=", StringComparison.Ordinal));
        bool wantsListOrHelp = rest.Any(a => a is "--list" or "--help" or "-h" or "--info" or "--version");
        if (!hasFilter && !wantsListOrHelp)
        {
            rest.AddRange(["--filter", "*"]);
        }

        bool userChoseJob = rest.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
        var config = BenchConfig.Create(quick, addDefaultJob: !userChoseJob);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], config).ToList();
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }
}
