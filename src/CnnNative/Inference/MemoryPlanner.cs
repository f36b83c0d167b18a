namespace CnnNative.Inference;

/// <summary>
/// Places the intermediate values of a plan in one arena: a value lives from the step that writes it to the
/// last step that reads it (both inclusive, so an op's output never overlaps its inputs), and values whose
/// lifetimes overlap get disjoint byte ranges. Greedy by size: largest value first, each put in the smallest
/// gap between already-placed, lifetime-overlapping values that fits it (best fit), else after them all.
/// </summary>
internal static class MemoryPlanner
{
    /// <summary>Arena offsets are multiples of this (the native kernels' alignment).</summary>
    public const long Alignment = 64;

    /// <summary>One value to place: its size and lifetime in step indices.</summary>
    public readonly record struct Interval(long Bytes, int First, int Last);

    /// <summary>Byte offsets of each interval (same order) and the arena size.</summary>
    public static (long[] Offsets, long ArenaBytes) Plan(IReadOnlyList<Interval> values)
    {
        var offsets = new long[values.Count];
        var order = Enumerable.Range(0, values.Count)
            .OrderByDescending(i => values[i].Bytes).ThenBy(i => values[i].First).ToArray();
        var placed = new List<int>(values.Count);
        long arena = 0;
        foreach (int i in order)
        {
            Interval v = values[i];
            long size = AlignUp(v.Bytes);
            var busy = placed.Where(j => values[j].First <= v.Last && v.First <= values[j].Last)
                .Select(j => (Start: offsets[j], End: offsets[j] + AlignUp(values[j].Bytes)))
                .OrderBy(r => r.Start).ToList();

            long best = -1, bestGap = long.MaxValue, cursor = 0;
            foreach (var (start, end) in busy)
            {
                long gap = start - cursor;
                if (gap >= size && gap < bestGap)
                {
                    best = cursor;
                    bestGap = gap;
                }

                cursor = Math.Max(cursor, end);
            }

            offsets[i] = best >= 0 ? best : cursor;
            arena = Math.Max(arena, offsets[i] + size);
            placed.Add(i);
        }

        return (offsets, arena);
    }

    public static long AlignUp(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;
}
