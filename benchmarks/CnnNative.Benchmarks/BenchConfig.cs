using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Perfolizer.Horology;
using Perfolizer.Metrology;

namespace CnnNative.Benchmarks;

/// <summary>Process-wide switches read when the config and the case attributes are built (in the host process).</summary>
public static class BenchSettings
{
    public static bool Quick { get; set; }
}

/// <summary>
/// The suite's config: median + GFLOP/s columns, MemoryDiagnoser, CSV (plain numbers, times in
/// microseconds, for benchmarks/run.sh) and GitHub markdown exporters.
/// </summary>
public static class BenchConfig
{
    /// <summary>Standard job: enough iterations for a stable median, short enough for a full run in minutes.</summary>
    public static Job StandardJob => Job.Default
        .WithId("Standard")
        .WithLaunchCount(1)
        .WithWarmupCount(4)
        .WithIterationCount(15)
        .WithIterationTime(TimeInterval.FromMilliseconds(250));

    /// <summary>Smoke job for --quick.</summary>
    public static Job QuickJob => Job.Default
        .WithId("Quick")
        .WithLaunchCount(1)
        .WithWarmupCount(1)
        .WithIterationCount(3)
        .WithIterationTime(TimeInterval.FromMilliseconds(100));

    public static IConfig Create(bool quick, bool addDefaultJob)
    {
        var style = SummaryStyle.Default
            .WithTimeUnit(TimeUnit.Microsecond)
            .WithSizeUnit(SizeUnit.B)
            .WithMaxParameterColumnWidth(20);
        // CSV for run.sh: plain numbers (no units in cells, units in the header), invariant culture.
        var csv = new CsvExporter(CsvSeparator.Comma, new SummaryStyle(
            cultureInfo: System.Globalization.CultureInfo.InvariantCulture,
            printUnitsInHeader: true,
            sizeUnit: SizeUnit.B,
            timeUnit: TimeUnit.Microsecond,
            printUnitsInContent: false,
            printZeroValuesInContent: true));

        var config = ManualConfig.CreateEmpty()
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median)
            .AddColumn(new GflopsColumn())
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(csv)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithSummaryStyle(style)
            .WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared))
            .WithOptions(ConfigOptions.JoinSummary);
        if (addDefaultJob)
        {
            config = config.AddJob(quick ? QuickJob : StandardJob);
        }
        return config;
    }
}

/// <summary>
/// Fewer warm-ups and iterations for a class of heavy cases (the 7x7 stem: ~0.24 GFLOP per call,
/// tens to hundreds of milliseconds on the scalar reference path), so a full run stays within
/// minutes. Applied as a job mutator on top of the standard or quick job.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class SlowCaseAttribute : Attribute, IConfigSource
{
    public SlowCaseAttribute()
    {
        var job = BenchSettings.Quick
            ? new Job().WithWarmupCount(1).WithIterationCount(3)
            : new Job().WithWarmupCount(2).WithIterationCount(8);
        Config = ManualConfig.CreateEmpty().AddJob(job.AsMutator());
    }

    public IConfig Config { get; }
}
