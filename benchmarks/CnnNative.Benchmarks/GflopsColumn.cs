using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace CnnNative.Benchmarks;

/// <summary>
/// The floating-point work of one call of a benchmark method, for the GFLOP/s column.
/// Convolution: 2 * N * OC * OH * OW * (IC / groups) * KH * KW (a multiply and an add per tap).
/// Pooling: one comparison per window element. Batch norm: 2 per element (scale and shift
/// folded per channel).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FlopsAttribute(long flops) : Attribute
{
    public long Flops { get; } = flops;

    public static long Conv2d(int n, int inChannels, int outChannels, int outHeight, int outWidth, int kernelH, int kernelW, int groups = 1)
        => 2L * n * outChannels * outHeight * outWidth * (inChannels / groups) * kernelH * kernelW;
}

/// <summary>GFLOP/s = FLOPs of the case (see <see cref="FlopsAttribute"/>) / median time.</summary>
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

    /// <summary>The method's FLOPs, times its <c>Batch</c> parameter when the class has one (then the attribute is per image).</summary>
    public static long? FlopsOf(BenchmarkCase benchmarkCase)
    {
        long? flops = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<FlopsAttribute>()?.Flops;
        object? batch = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Batch")?.Value;
        return batch is int n ? flops * n : flops;
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        long? flops = FlopsOf(benchmarkCase);
        BenchmarkReport? report = summary[benchmarkCase];
        double? medianNs = report?.ResultStatistics?.Median;
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
