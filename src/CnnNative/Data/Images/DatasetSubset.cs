namespace CnnNative.Data;

/// <summary>The samples <see cref="Indices"/> of another data set (torch's <c>Subset</c>), e.g. a seeded validation hold-out.</summary>
public sealed class DatasetSubset : IImageDataset
{
    private readonly int[] _indices;

    /// <summary>Creates the subset (the indices are copied).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the source.</exception>
    public DatasetSubset(IImageDataset source, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        _indices = indices.ToArray();
        for (int i = 0; i < _indices.Length; i++)
        {
            if ((uint)_indices[i] >= (uint)source.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{i}] = {_indices[i]}; the source has {source.Count} samples.");
            }
        }

        Source = source;
    }

    /// <summary>The full data set.</summary>
    public IImageDataset Source { get; }

    /// <summary>The source positions, in subset order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc />
    public int Count => _indices.Length;

    /// <inheritdoc />
    public int ClassCount => Source.ClassCount;

    /// <inheritdoc />
    public int GetLabel(int index) => Source.GetLabel(_indices[index]);

    /// <inheritdoc />
    public PlanarImage Load(int index) => Source.Load(_indices[index]);

    /// <inheritdoc />
    public string Describe(int index) => Source.Describe(_indices[index]);

    /// <summary>A seeded split into (train, validation) with round(fraction * Count) validation samples.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is outside (0, 1) or leaves a side empty.</exception>
    public static (DatasetSubset Train, DatasetSubset Validation) Split(IImageDataset source, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        int n = source.Count;
        int validation = (int)Math.Round(validationFraction * n);
        if (!(validationFraction > 0 && validationFraction < 1) || validation < 1 || validation >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction,
                $"the validation fraction must be in (0, 1) and leave both sides non-empty; {n} samples x {validationFraction} = {validation}.");
        }

        int[] order = new int[n];
        Shuffling.Fill(order, shuffle: true, seed, epoch: -1);
        int[] val = order[..validation];
        int[] train = order[validation..];
        Array.Sort(val);
        Array.Sort(train);
        return (new DatasetSubset(source, train), new DatasetSubset(source, val));
    }
}
