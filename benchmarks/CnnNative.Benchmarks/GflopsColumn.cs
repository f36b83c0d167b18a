using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace CnnNative.Benchmarks;

/// <summary>
/// GFLOP/s = FLOPs of one call / median time. The FLOPs come from the case parameter
/// (<see cref="KernelCase.Flops"/> at the case's batch size). Convolution: 2 * N * OC * OH * OW *
/// (IC / groups) * KH * KW; max pool: one comparison per window element; batch norm: 2 per element.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => "GFLOP/s";
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations of one call divided by the median time (1e9 per second)";

    public static long? FlopsOf(BenchmarkCase benchmarkCase)
    {
        var parameters = benchmarkCase.Parameters;
        return parameters.Items.Any(p => p.Name == "Case") && parameters["Case"] is KernelCase kernel && parameters["Batch"] is int batch
            ? kernel.Flops(batch)
            : null;
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        long? flops = FlopsOf(benchmarkCase);
        double? medianNs = summary[benchmarkCase]?.ResultStatistics?.Median;
        if (flops is null || medianNs is null or <= 0)
        {
            return "NA";
        }
        // FLOP per nanosecond == GFLOP per second.
        return (flops.Value / medianNs.Value).ToString("F2", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public override string ToString() => ColumnName;
}
