using System.Collections;
using CnnNative.IO;

namespace CnnNative.Data;

/// <summary>
/// One mini-batch from a <see cref="DataLoader"/>. It lives in the loader's reused buffers: it is valid
/// until the enumeration moves to the next batch (or the loader is disposed or enumerated again).
/// Do not dispose <see cref="Input"/>; copy (<see cref="Tensor.Clone"/>, <c>Labels.ToArray()</c>) what must outlive the step.
/// </summary>
public readonly struct Batch
{
    internal Batch(Tensor input, ReadOnlyMemory<int> labels, ReadOnlyMemory<int> indices, int index)
    {
        Input = input;
        Labels = labels;
        Indices = indices;
        Index = index;
    }

    /// <summary>The samples, [B, C, H, W] (B = <see cref="Count"/>), normalised and augmented as the loader is configured.</summary>
    public Tensor Input { get; }

    /// <summary>The labels of the samples, in batch order.</summary>
    public ReadOnlyMemory<int> Labels { get; }

    /// <summary>The positions of the samples in the loader's data set, in batch order.</summary>
    public ReadOnlyMemory<int> Indices { get; }

    /// <summary>The number of this batch in its epoch (0-based).</summary>
    public int Index { get; }

    /// <summary>The number of samples in the batch.</summary>
    public int Count => Labels.Length;

    /// <summary>Deconstructs into the input and the labels: <c>foreach (var (input, labels) in loader)</c>.</summary>
    /// <param name="input">The samples.</param>
    /// <param name="labels">Their labels.</param>
    public void Deconstruct(out Tensor input, out ReadOnlyMemory<int> labels)
    {
        input = Input;
        labels = Labels;
    }
}

/// <summary>
/// Mini-batches over an in-memory image classification data set (PyTorch's <c>DataLoader</c> over a
/// tensor data set): each enumeration is one epoch that visits every sample exactly once, in a seeded
/// random order (<c>shuffle</c>) or in order, and yields <see cref="Batch"/>es copied into two
/// preallocated tensors (one of the batch size, one for a last partial batch), optionally augmented
/// and normalised on the way.
/// </summary>
/// <remarks>
/// <para>A batch is valid until the next <c>MoveNext</c>: its tensor and label buffers are reused for the
/// next batch, so finish the step (forward, backward, optimizer step) inside the loop body.
/// Starting a new enumeration invalidates the previous one (its <c>MoveNext</c> throws).</para>
/// <para>Determinism: the order of epoch <c>e</c> depends only on (<see cref="Seed"/>, e), and the
/// augmentation of its batch <c>b</c> only on (<see cref="Augmentation.Seed"/>, e, b). Each
/// enumeration uses epoch <see cref="Epoch"/> and then increments it.</para>
/// <para>The loader keeps references to the caller's arrays (no copy): do not modify them while it is in use.
/// It is not synchronized.</para>
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>, IDisposable
{
    private readonly float[] _images;
    private readonly int[] _labels;
    private readonly int _sampleSize;
    private readonly int[] _order;
    private readonly Tensor? _full;
    private readonly Tensor? _partial;
    private readonly int[] _fullLabels;
    private readonly int[] _fullIndices;
    private readonly int[] _partialLabels;
    private readonly int[] _partialIndices;
    private int _version;
    private bool _disposed;

    /// <summary>Creates a loader over images and labels.</summary>
    /// <param name="images">The samples, N * C * H * W floats in [N, C, H, W] order.</param>
    /// <param name="labels">The N labels (each &gt;= 0).</param>
    /// <param name="sampleShape">(C, H, W) of one sample.</param>
    /// <param name="batchSize">Samples per batch, &gt;= 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new seeded random order (otherwise in order).</param>
    /// <param name="seed">The seed of the shuffling.</param>
    /// <param name="dropLast">Whether to drop the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="normalization">Applied to every batch (fit it on the training set), or null; its channel count must be C.</param>
    /// <param name="augmentation">Applied to every batch while <see cref="AugmentationEnabled"/>, or null (training loaders only).</param>
    /// <exception cref="ArgumentException">The sizes do not fit, a label is negative, or the normalisation has another channel count.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The shape or batch size is out of range.</exception>
    public DataLoader(
        float[] images,
        int[] labels,
        (int Channels, int Height, int Width) sampleShape,
        int batchSize,
        bool shuffle = false,
        int seed = 0,
        bool dropLast = false,
        Normalization? normalization = null,
        Augmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _sampleSize = DataChecks.SampleSize(sampleShape, nameof(sampleShape));
        Count = DataChecks.SampleCount(images.Length, labels.Length, _sampleSize, sampleShape);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
            {
                throw new ArgumentException($"labels[{i}] is {labels[i]}; labels must be >= 0.", nameof(labels));
            }
        }

        if (normalization is not null && normalization.Channels != sampleShape.Channels)
        {
            throw new ArgumentException(
                $"the normalization has {normalization.Channels} channels; the samples have {sampleShape.Channels}.", nameof(normalization));
        }

        _images = images;
        _labels = labels;
        SampleShape = sampleShape;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Normalization = normalization;
        Augmentation = augmentation;
        AugmentationEnabled = augmentation is not null;

        // Torch: a batch size larger than the data set gives one partial batch (none with dropLast).
        int remainder = Count % batchSize;
        BatchCount = dropLast ? Count / batchSize : (Count + batchSize - 1) / batchSize;
        _order = new int[Count];
        int fullBatches = Count / batchSize;
        try
        {
            _full = fullBatches > 0 ? Tensor.Zeros(batchSize, sampleShape.Channels, sampleShape.Height, sampleShape.Width) : null;
            _partial = remainder > 0 && !dropLast ? Tensor.Zeros(remainder, sampleShape.Channels, sampleShape.Height, sampleShape.Width) : null;
        }
        catch
        {
            _full?.Dispose();
            throw;
        }

        _fullLabels = new int[fullBatches > 0 ? batchSize : 0];
        _fullIndices = new int[_fullLabels.Length];
        _partialLabels = new int[_partial is null ? 0 : remainder];
        _partialIndices = new int[_partialLabels.Length];
    }

    /// <summary>
    /// Creates a loader over a loaded IDX data set such as <see cref="FashionMnist.LoadTrain"/>
    /// (one channel; the pixel and label arrays are used, respectively converted, once).
    /// </summary>
    /// <param name="data">The images and labels.</param>
    /// <param name="batchSize">Samples per batch, &gt;= 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new seeded random order.</param>
    /// <param name="seed">The seed of the shuffling.</param>
    /// <param name="dropLast">Whether to drop the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="normalization">Applied to every batch, or null.</param>
    /// <param name="augmentation">Applied to every batch while <see cref="AugmentationEnabled"/>, or null.</param>
    public DataLoader(
        LabeledImages data,
        int batchSize,
        bool shuffle = false,
        int seed = 0,
        bool dropLast = false,
        Normalization? normalization = null,
        Augmentation? augmentation = null)
        : this(
            (data ?? throw new ArgumentNullException(nameof(data))).Images.Data,
            Array.ConvertAll(data.Labels, b => (int)b),
            (1, data.Images.Rows, data.Images.Cols),
            batchSize,
            shuffle,
            seed,
            dropLast,
            normalization,
            augmentation)
    {
    }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>(C, H, W) of one sample.</summary>
    public (int Channels, int Height, int Width) SampleShape { get; }

    /// <summary>Samples per batch (all batches but possibly the last; larger than <see cref="Count"/> means one partial batch).</summary>
    public int BatchSize { get; }

    /// <summary>The number of batches per epoch.</summary>
    public int BatchCount { get; }

    /// <summary>Whether each epoch shuffles the samples.</summary>
    public bool Shuffle { get; }

    /// <summary>The seed of the shuffling.</summary>
    public int Seed { get; }

    /// <summary>Whether a last partial batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>The normalisation applied to every batch, or null.</summary>
    public Normalization? Normalization { get; }

    /// <summary>The augmentation, or null.</summary>
    public Augmentation? Augmentation { get; }

    /// <summary>Whether <see cref="Augmentation"/> is applied (true when one was given; set false for evaluation).</summary>
    public bool AugmentationEnabled { get; set; }

    /// <summary>The epoch number the next enumeration uses (starts at 0; each enumeration increments it).</summary>
    public int Epoch { get; set; }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (a permutation of 0 ... <see cref="Count"/> - 1).</summary>
    /// <param name="epoch">The epoch number.</param>
    public int[] EpochOrder(int epoch)
    {
        var order = new int[Count];
        FillOrder(order, epoch);
        return order;
    }

    /// <summary>Starts an epoch (number <see cref="Epoch"/>, then incremented), invalidating any earlier enumeration.</summary>
    /// <exception cref="ObjectDisposedException">The loader is disposed.</exception>
    public Enumerator GetEnumerator()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int epoch = Epoch;
        Epoch = unchecked(epoch + 1);
        FillOrder(_order, epoch);
        _version++;
        return new Enumerator(this, _version, epoch);
    }

    IEnumerator<Batch> IEnumerable<Batch>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Frees the batch tensors. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _version++;
        _full?.Dispose();
        _partial?.Dispose();
    }

    private void FillOrder(int[] order, int epoch) => Shuffling.Fill(order, Shuffle, Seed, epoch);

    private Batch Fill(int batch, int epoch)
    {
        int start = batch * BatchSize;
        int n = Math.Min(BatchSize, Count - start);
        bool full = n == BatchSize;
        Tensor tensor = full ? _full! : _partial!;
        int[] labels = full ? _fullLabels : _partialLabels;
        int[] indices = full ? _fullIndices : _partialIndices;

        Augmentation? augmentation = AugmentationEnabled ? Augmentation : null;
        Random? rng = augmentation is null ? null : new Random(DataChecks.Mix(augmentation.Seed, epoch, batch));
        Span<float> destination = tensor.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int index = _order[start + i];
            ReadOnlySpan<float> source = _images.AsSpan(index * _sampleSize, _sampleSize);
            Span<float> sample = destination.Slice(i * _sampleSize, _sampleSize);
            if (augmentation is not null && augmentation.IsGeometric)
            {
                augmentation.CopyTransformed(source, sample, SampleShape, rng!);
            }
            else
            {
                source.CopyTo(sample);
            }

            labels[i] = _labels[index];
            indices[i] = index;
        }

        Normalization?.Apply(destination, SampleShape.Height * SampleShape.Width);
        augmentation?.AddNoise(destination, rng!);
        tensor.MarkWritten();
        return new Batch(tensor, labels, indices, batch);
    }

    /// <summary>Enumerates the batches of one epoch (see <see cref="DataLoader"/>).</summary>
    public sealed class Enumerator : IEnumerator<Batch>
    {
        private readonly DataLoader _loader;
        private readonly int _version;
        private readonly int _epoch;
        private int _next;
        private Batch _current;

        internal Enumerator(DataLoader loader, int version, int epoch)
        {
            _loader = loader;
            _version = version;
            _epoch = epoch;
        }

        /// <summary>The epoch number of this enumeration.</summary>
        public int Epoch => _epoch;

        /// <summary>The current batch (valid until the next <see cref="MoveNext"/>).</summary>
        public Batch Current => _current;

        object IEnumerator.Current => _current;

        /// <summary>Fills the next batch; false after the last one.</summary>
        /// <exception cref="InvalidOperationException">The loader was enumerated again or disposed since this enumeration started.</exception>
        public bool MoveNext()
        {
            if (_version != _loader._version)
            {
                throw new InvalidOperationException(
                    _loader._disposed
                        ? "the DataLoader was disposed during the enumeration."
                        : "the DataLoader was enumerated again: a new epoch invalidates the previous enumeration (their batches share buffers).");
            }

            if (_next >= _loader.BatchCount)
            {
                _current = default;
                return false;
            }

            _current = _loader.Fill(_next, _epoch);
            _next++;
            return true;
        }

        /// <summary>Not supported (start a new epoch with <see cref="DataLoader.GetEnumerator"/>).</summary>
        /// <exception cref="NotSupportedException">Always.</exception>
        public void Reset() => throw new NotSupportedException("start a new epoch with DataLoader.GetEnumerator() instead.");

        /// <summary>Ends the enumeration (the loader's buffers stay with the loader).</summary>
        public void Dispose()
        {
        }
    }
}
