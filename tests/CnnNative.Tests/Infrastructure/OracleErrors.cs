using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CnnNative.Interop;

namespace CnnNative.Tests.Infrastructure;

/// <summary>An element-wise tolerance: |actual - expected| &lt;= Abs + Rel * |expected|.</summary>
public readonly record struct Tolerance(double Abs, double Rel)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"abs {Abs:0.#e0} + rel {Rel:0.#e0}");
}

/// <summary>
/// Compares CnnNative outputs with the oracle's and keeps the worst errors per op and ISA for
/// artifacts/oracle-errors.txt (written when the oracle fixture is disposed, at the end of the run).
/// </summary>
public static class OracleErrors
{
    /// <summary>Relative errors are measured only where |expected| is at least this (else abs error rules).</summary>
    public const double RelFloor = 1e-3;

    private static readonly ConcurrentDictionary<(string Op, string Isa), Worst> s_worst = new();

    /// <summary>
    /// Asserts that <paramref name="actual"/> matches <paramref name="expected"/> (same shape; every
    /// element within <paramref name="tolerance"/>; NaN only where the oracle has NaN), writes the
    /// max abs/rel error to the test output and records it for the summary.
    /// </summary>
    public static void AssertClose(
        ITestOutputHelper output, string op, CnnIsa isa, string caseName, float[] actual, int[] actualShape,
        OracleTensor expected, Tolerance tolerance)
    {
        Assert.True(
            actualShape.SequenceEqual(expected.Shape),
            $"{op} {caseName} [{isa}]: CnnNative shape [{string.Join(", ", actualShape)}] != torch shape {expected.ShapeText}");
        Assert.Equal(expected.Data.Length, actual.Length);

        double maxAbs = 0, maxRel = 0, maxExpected = 0;
        int worstIndex = -1, failures = 0, firstFailure = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected.Data[i];
            if (double.IsNaN(e) || double.IsNaN(a))
            {
                if (double.IsNaN(e) != double.IsNaN(a))
                {
                    failures++;
                    if (firstFailure < 0)
                    {
                        firstFailure = i;
                    }
                }

                continue;
            }

            if (double.IsInfinity(e) || double.IsInfinity(a))
            {
                if (a != e)
                {
                    failures++;
                    if (firstFailure < 0)
                    {
                        firstFailure = i;
                    }
                }

                continue;
            }

            double abs = Math.Abs(a - e);
            maxExpected = Math.Max(maxExpected, Math.Abs(e));
            if (abs > maxAbs)
            {
                maxAbs = abs;
                worstIndex = i;
            }

            if (Math.Abs(e) >= RelFloor)
            {
                maxRel = Math.Max(maxRel, abs / Math.Abs(e));
            }

            if (abs > tolerance.Abs + (tolerance.Rel * Math.Abs(e)))
            {
                failures++;
                if (firstFailure < 0)
                {
                    firstFailure = i;
                }
            }
        }

        string summary = string.Create(
            CultureInfo.InvariantCulture,
            $"{op} {caseName} [{isa}]: {actual.Length} values, max abs err {maxAbs:0.###e0}, max rel err {maxRel:0.###e0} (tolerance {tolerance})");
        output.WriteLine(summary);
        double normwise = maxExpected > 0 ? maxAbs / maxExpected : 0;
        Record(op, isa, caseName, maxAbs, maxRel, normwise, tolerance, actual.Length, failures == 0);

        if (failures > 0)
        {
            int i = firstFailure;
            string where = string.Create(
                CultureInfo.InvariantCulture,
                $"first bad element #{i} (index {IndexText(i, expected.Shape)}): CnnNative {actual[i]:R}, torch {expected.Data[i]:R}");
            Assert.Fail($"{summary}\n{failures} of {actual.Length} elements out of tolerance; {where}");
        }
    }

    /// <summary>Convenience overload for a CnnNative tensor.</summary>
    public static void AssertClose(
        ITestOutputHelper output, string op, CnnIsa isa, string caseName, Tensor actual, OracleTensor expected, Tolerance tolerance) =>
        AssertClose(output, op, isa, caseName, actual.ToArray(), actual.Shape, expected, tolerance);

    /// <summary>Writes artifacts/oracle-errors.txt: the worst max abs/rel error per op per ISA.</summary>
    public static void WriteSummary(string torchVersion)
    {
        if (s_worst.IsEmpty)
        {
            return;
        }

        var sb = new StringBuilder();
        sb.AppendLine("# CnnNative vs torch oracle: worst error per op per ISA (written by tests/CnnNative.Tests)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, torch {torchVersion} (oracle computes in float64, replies float32)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# max_abs_err = max |a - e|; max_rel_err = max |a - e| / |e| over elements with |e| >= {RelFloor:0.#e0};");
        sb.AppendLine("# normwise = max over cases of max|a - e| / max|e|; pass: |a - e| <= abs + rel * |e| element-wise (loosest tolerance of the op shown)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"op",-40} {"isa",-10} {"cases",6} {"failed",6} {"values",10} {"max_abs_err",12} {"max_rel_err",12} {"normwise",10}  {"tolerance",-22} worst case (abs)");
        foreach (var ((op, isa), w) in s_worst.OrderBy(kv => kv.Key.Op, StringComparer.Ordinal).ThenBy(kv => kv.Key.Isa, StringComparer.Ordinal))
        {
            lock (w)
            {
                string tol = new Tolerance(w.TolAbs, w.TolRel).ToString();
                sb.AppendLine(CultureInfo.InvariantCulture, $"{op,-40} {isa,-10} {w.Cases,6} {w.Failed,6} {w.Values,10} {w.MaxAbs,12:0.000e+00} {w.MaxRel,12:0.000e+00} {w.MaxNormwise,10:0.00e+00}  {tol,-22} {w.WorstCase}");
            }
        }

        string path = Path.Combine(TestPaths.ArtifactsDir, "oracle-errors.txt");
        File.WriteAllText(path, sb.ToString());
    }

    private static void Record(string op, CnnIsa isa, string caseName, double maxAbs, double maxRel, double normwise, Tolerance tolerance, long values, bool passed)
    {
        Worst w = s_worst.GetOrAdd((op, isa.ToString()), _ => new Worst());
        lock (w)
        {
            w.Cases++;
            w.Values += values;
            if (!passed)
            {
                w.Failed++;
            }

            if (maxAbs >= w.MaxAbs)
            {
                w.MaxAbs = maxAbs;
                w.WorstCase = caseName;
            }

            w.MaxRel = Math.Max(w.MaxRel, maxRel);
            w.MaxNormwise = Math.Max(w.MaxNormwise, normwise);
            w.TolAbs = Math.Max(w.TolAbs, tolerance.Abs);
            w.TolRel = Math.Max(w.TolRel, tolerance.Rel);
        }
    }

    private static string IndexText(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % Math.Max(shape[d], 1);
            flat /= Math.Max(shape[d], 1);
        }

        return "[" + string.Join(", ", idx) + "]";
    }

    private sealed class Worst
    {
        public int Cases;
        public int Failed;
        public long Values;
        public double MaxAbs;
        public double MaxRel;
        public double MaxNormwise;
        public double TolAbs;
        public double TolRel;
        public string WorstCase = string.Empty;
    }
}
