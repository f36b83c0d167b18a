using CnnNative.Inference;

namespace CnnNative.Tests.Inference;

/// <summary>The arena planner: values alive at the same step never share bytes, offsets are aligned, memory is reused.</summary>
public sealed class MemoryPlannerTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 60)]
    [InlineData(3, 300)]
    public void Overlapping_lifetimes_never_share_bytes(int seed, int count)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, count).Select(_ =>
        {
            int first = random.Next(0, count);
            return new MemoryPlanner.Interval(random.Next(1, 100_000), first, first + random.Next(0, 8));
        }).ToList();

        (long[] offsets, long arena) = MemoryPlanner.Plan(values);

        long sum = values.Sum(v => MemoryPlanner.AlignUp(v.Bytes));
        output.WriteLine($"{count} values: arena {arena} B, sum {sum} B ({(double)sum / arena:0.00}x)");
        Assert.True(arena <= sum);
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(0, offsets[i] % MemoryPlanner.Alignment);
            Assert.True(offsets[i] + values[i].Bytes <= arena);
            for (int j = i + 1; j < count; j++)
            {
                bool alive = values[i].First <= values[j].Last && values[j].First <= values[i].Last;
                bool share = offsets[i] < offsets[j] + values[j].Bytes && offsets[j] < offsets[i] + values[i].Bytes;
                Assert.False(alive && share, $"values {i} {values[i]} at {offsets[i]} and {j} {values[j]} at {offsets[j]} overlap");
            }
        }
    }

    [Fact]
    public void A_chain_needs_two_buffers()
    {
        // x0 -> x1 -> x2 -> x3, each read by the next step only: two slots of the largest size suffice.
        var chain = new[]
        {
            new MemoryPlanner.Interval(1000, 0, 1),
            new MemoryPlanner.Interval(1000, 1, 2),
            new MemoryPlanner.Interval(1000, 2, 3),
            new MemoryPlanner.Interval(1000, 3, 4),
        };
        (long[] offsets, long arena) = MemoryPlanner.Plan(chain);
        Assert.Equal(2 * MemoryPlanner.AlignUp(1000), arena);
        Assert.Equal(offsets[0], offsets[2]);
        Assert.Equal(offsets[1], offsets[3]);
    }
}
