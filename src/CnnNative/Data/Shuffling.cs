namespace CnnNative.Data;

/// <summary>The visiting order of one epoch, shared by <see cref="DataLoader"/> and <see cref="ImageDataLoader"/>.</summary>
internal static class Shuffling
{
    /// <summary>Fills <paramref name="order"/> with 0 ... n - 1, shuffled (Fisher-Yates seeded by (seed, epoch)) when <paramref name="shuffle"/>.</summary>
    public static void Fill(int[] order, bool shuffle, int seed, int epoch)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (shuffle)
        {
            var rng = new Random(DataChecks.Mix(seed, epoch));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
    }
}
