using System.Globalization;

namespace CnnNative.Data;

/// <summary>A data set split into a training part and a validation part (copies of the samples).</summary>
/// <param name="TrainImages">Training samples, [N_train, C, H, W].</param>
/// <param name="TrainLabels">Training labels.</param>
/// <param name="ValidationImages">Validation samples, [N_val, C, H, W].</param>
/// <param name="ValidationLabels">Validation labels.</param>
/// <param name="TrainIndices">Positions of the training samples in the original data set (ascending).</param>
/// <param name="ValidationIndices">Positions of the validation samples in the original data set (ascending).</param>
public sealed record DataSplit(
    float[] TrainImages,
    int[] TrainLabels,
    float[] ValidationImages,
    int[] ValidationLabels,
    int[] TrainIndices,
    int[] ValidationIndices);

/// <summary>Seeded hold-out splits of a data set into training and validation parts.</summary>
public static class ValidationSplit
{
    /// <summary>
    /// Chooses <c>round(count * validationFraction)</c> validation positions at random (seeded); the rest
    /// are training positions. Both lists are ascending.
    /// </summary>
    /// <param name="count">The number of samples, &gt;= 2.</param>
    /// <param name="validationFraction">The share held out, in (0, 1); the rounded count must leave both parts non-empty.</param>
    /// <param name="seed">The seed: the same arguments give the same split.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range or a part would be empty.</exception>
    public static (int[] Train, int[] Validation) Indices(int count, double validationFraction, int seed)
    {
        int validation = ValidationCount(count, validationFraction);
        var order = Permutation(count, new Random(DataChecks.Mix(seed, 0x5EED)));
        return Partition(count, order.AsSpan(0, validation));
    }

    /// <summary>
    /// Like <see cref="Indices(int, double, int)"/> over the samples of <paramref name="labels"/>; with
    /// <paramref name="stratify"/>, each class contributes its share (largest-remainder rounding so the
    /// total is still <c>round(count * validationFraction)</c>), so both parts keep the class proportions.
    /// </summary>
    /// <param name="labels">The label of every sample (each &gt;= 0).</param>
    /// <param name="validationFraction">The share held out, in (0, 1).</param>
    /// <param name="seed">The seed: the same arguments give the same split.</param>
    /// <param name="stratify">Whether to split every class in the same proportion.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range or a part would be empty.</exception>
    /// <exception cref="ArgumentException">A label is negative.</exception>
    public static (int[] Train, int[] Validation) Indices(ReadOnlySpan<int> labels, double validationFraction, int seed, bool stratify = false)
    {
        if (!stratify)
        {
            return Indices(labels.Length, validationFraction, seed);
        }

        int total = ValidationCount(labels.Length, validationFraction);
        var classes = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
            {
                throw new ArgumentException($"labels[{i}] is {labels[i]}; labels must be >= 0.", nameof(labels));
            }

            if (!classes.TryGetValue(labels[i], out List<int>? members))
            {
                classes.Add(labels[i], members = []);
            }

            members.Add(i);
        }

        // Largest remainder: floor of each class's exact share, then one more for the largest remainders.
        var groups = classes.Values.ToArray();
        var take = new int[groups.Length];
        var remainders = new (double Remainder, int Group)[groups.Length];
        int assigned = 0;
        for (int g = 0; g < groups.Length; g++)
        {
            double exact = (double)groups[g].Count * total / labels.Length;
            take[g] = (int)Math.Floor(exact);
            remainders[g] = (exact - take[g], g);
            assigned += take[g];
        }

        foreach (var (_, g) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Group).Take(total - assigned))
        {
            take[g]++;
        }

        var rng = new Random(DataChecks.Mix(seed, 0x5EED));
        var validation = new List<int>(total);
        for (int g = 0; g < groups.Length; g++)
        {
            int[] order = Permutation(groups[g].Count, rng);
            for (int i = 0; i < take[g]; i++)
            {
                validation.Add(groups[g][order[i]]);
            }
        }

        return Partition(labels.Length, validation.ToArray());
    }

    /// <summary>
    /// Splits images and labels into copies for training and validation (see
    /// <see cref="Indices(ReadOnlySpan{int}, double, int, bool)"/>). Fit the <see cref="Normalization"/> on
    /// <see cref="DataSplit.TrainImages"/> only.
    /// </summary>
    /// <param name="images">The samples, N * C * H * W floats.</param>
    /// <param name="labels">The N labels.</param>
    /// <param name="sampleShape">(C, H, W) of one sample.</param>
    /// <param name="validationFraction">The share held out, in (0, 1).</param>
    /// <param name="seed">The seed: the same arguments give the same split.</param>
    /// <param name="stratify">Whether to split every class in the same proportion.</param>
    /// <exception cref="ArgumentException">The sizes do not fit or a label is negative.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range or a part would be empty.</exception>
    public static DataSplit Split(
        float[] images, int[] labels, (int Channels, int Height, int Width) sampleShape, double validationFraction, int seed, bool stratify = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        int sampleSize = DataChecks.SampleSize(sampleShape, nameof(sampleShape));
        DataChecks.SampleCount(images.Length, labels.Length, sampleSize, sampleShape);
        var (train, validation) = Indices(labels, validationFraction, seed, stratify);
        var (trainImages, trainLabels) = Gather(images, labels, sampleSize, train);
        var (validationImages, validationLabels) = Gather(images, labels, sampleSize, validation);
        return new DataSplit(trainImages, trainLabels, validationImages, validationLabels, train, validation);
    }

    private static (float[] Images, int[] Labels) Gather(float[] images, int[] labels, int sampleSize, int[] indices)
    {
        var outImages = new float[(long)indices.Length * sampleSize];
        var outLabels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            images.AsSpan(indices[i] * sampleSize, sampleSize).CopyTo(outImages.AsSpan(i * sampleSize, sampleSize));
            outLabels[i] = labels[indices[i]];
        }

        return (outImages, outLabels);
    }

    private static int ValidationCount(int count, double validationFraction)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1).");
        }

        int validation = (int)Math.Round(count * validationFraction, MidpointRounding.AwayFromZero);
        if (validation < 1 || validation >= count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationFraction),
                validationFraction,
                $"{count} samples x {validationFraction.ToString(CultureInfo.InvariantCulture)} gives {validation} validation samples; both parts must be non-empty.");
        }

        return validation;
    }

    private static int[] Permutation(int count, Random rng)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    private static (int[] Train, int[] Validation) Partition(int count, ReadOnlySpan<int> validation)
    {
        var isValidation = new bool[count];
        foreach (int i in validation)
        {
            isValidation[i] = true;
        }

        var train = new int[count - validation.Length];
        var held = new int[validation.Length];
        int t = 0, v = 0;
        for (int i = 0; i < count; i++)
        {
            if (isValidation[i])
            {
                held[v++] = i;
            }
            else
            {
                train[t++] = i;
            }
        }

        return (train, held);
    }
}
