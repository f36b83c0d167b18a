using System.Collections.Immutable;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Perfolizer.Metrology;

namespace CnnNative.Benchmarks;

/// <summary>Process-wide switches, read when the parameter sources and the config are built.</summary>
public static class BenchSettings
{
    /// <summary>--quick: a smoke run (a few cases, batch 1, short job).</summary>
    public static bool Quick { get; set; }

    /// <summary>--per-call: also time CnnNative's stateless conv (Functional.Conv2d, weights packed per call), AVX-512.</summary>
    public static bool PerCall { get; set; }

    /// <summary>--cases TEXT: only cases whose name contains one of the comma-separated TEXTs.</summary>
    public static string[] CasePatterns { get; set; } = [];

    /// <summary>The cases a --quick run measures when --cases is not given.</summary>
    private static readonly string[] QuickCases = ["conv 3x3 64->64 @56", "conv 1x1 256->64 @56", "maxpool", "batchnorm"];

    public static IEnumerable<KernelCase> SelectCases(IEnumerable<KernelCase> all)
    {
        string[] patterns = CasePatterns.Length > 0 ? CasePatterns : Quick ? QuickCases : [];
        return patterns.Length == 0
            ? all
            : all.Where(c => patterns.Any(p => c.Name.Contains(p, StringComparison.OrdinalIgnoreCase)));
    }
}

/// <summary>
/// The suite's config: median + GFLOP/s columns, CSV (plain numbers, times in microseconds, for
/// benchmarks/report.py) and GitHub markdown exporters, one short in-process job.
/// </summary>
public static class BenchConfig
{
    /// <summary>
    /// Short job so the whole suite (144 cases) stays well within 10-15 minutes on 2 cores (6.5 min
    /// measured on a loaded machine): 2 warm-ups and 9
    /// measured iterations of ~100 ms (at least one call each), median reported. In process, so
    /// CnnNative and oneDNN run in the same process, one case after the other.
    /// </summary>
    public static Job StandardJob => Job.Default
        .WithId("Standard")
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(9)
        .WithIterationTime(TimeInterval.FromMilliseconds(100))
        .WithEvaluateOverhead(false);

    /// <summary>Smoke job for --quick.</summary>
    public static Job QuickJob => StandardJob
        .WithId("Quick")
        .WithWarmupCount(1)
        .WithIterationCount(3)
        .WithIterationTime(TimeInterval.FromMilliseconds(50));

    public static IConfig Create(bool quick)
    {
        var style = SummaryStyle.Default
            .WithTimeUnit(TimeUnit.Microsecond)
            .WithSizeUnit(SizeUnit.B)
            .WithMaxParameterColumnWidth(28);
        // CSV for report.py: plain numbers (no units in cells, units in the header), invariant culture.
        var csv = new CsvExporter(CsvSeparator.Comma, new SummaryStyle(
            cultureInfo: System.Globalization.CultureInfo.InvariantCulture,
            printUnitsInHeader: true,
            sizeUnit: SizeUnit.B,
            timeUnit: TimeUnit.Microsecond,
            printUnitsInContent: false,
            printZeroValuesInContent: true));

        return ManualConfig.CreateEmpty()
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median)
            .AddColumn(new GflopsColumn())
            .AddExporter(csv)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithSummaryStyle(style)
            .WithOrderer(new SideBySideOrderer())
            .WithOptions(ConfigOptions.JoinSummary)
            .AddJob(quick ? QuickJob : StandardJob);
    }
}

/// <summary>
/// Runs (and lists) cases grouped by (case, batch, threads) with the implementations adjacent,
/// so each ratio compares measurements taken minutes, not tens of minutes, apart.
/// </summary>
public sealed class SideBySideOrderer : IOrderer
{
    private readonly DefaultOrderer _default = new(SummaryOrderPolicy.Declared);

    private static IEnumerable<BenchmarkCase> Sort(IEnumerable<BenchmarkCase> cases)
        => cases
            .OrderBy(c => Index(c, "Case"))
            .ThenBy(c => Index(c, "Batch"))
            .ThenBy(c => Index(c, "Threads"))
            .ThenBy(c => Index(c, "Impl"));

    private static int Index(BenchmarkCase c, string name)
    {
        object? value = c.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
        return value switch
        {
            KernelCase k => KernelCase.All.ToList().IndexOf(k),
            Impl i => (int)i,
            int n => n,
            _ => 0,
        };
    }

    public IEnumerable<BenchmarkCase> GetExecutionOrder(ImmutableArray<BenchmarkCase> benchmarksCase, IEnumerable<BenchmarkLogicalGroupRule>? order = null)
        => Sort(benchmarksCase);

    public IEnumerable<BenchmarkCase> GetSummaryOrder(ImmutableArray<BenchmarkCase> benchmarksCases, Summary summary)
        => Sort(benchmarksCases);

    public string? GetHighlightGroupKey(BenchmarkCase benchmarkCase) => _default.GetHighlightGroupKey(benchmarkCase);

    public string GetLogicalGroupKey(ImmutableArray<BenchmarkCase> allBenchmarksCases, BenchmarkCase benchmarkCase)
        => _default.GetLogicalGroupKey(allBenchmarksCases, benchmarkCase);

    public IEnumerable<IGrouping<string, BenchmarkCase>> GetLogicalGroupOrder(IEnumerable<IGrouping<string, BenchmarkCase>> logicalGroups, IEnumerable<BenchmarkLogicalGroupRule>? order = null)
        => _default.GetLogicalGroupOrder(logicalGroups, order);

    public bool SeparateLogicalGroups => _default.SeparateLogicalGroups;
}
