using System.Collections;
using System.Runtime.ExceptionServices;

namespace CnnNative.Data;

/// <summary>
/// Mini-batches decoded and transformed on the fly from an <see cref="IImageDataset"/> (PyTorch's
/// <c>DataLoader(dataset, batch_size, shuffle, num_workers, prefetch_factor)</c>): each enumeration is one
/// epoch; with <see cref="Workers"/> &gt; 0, that many background threads each assemble whole batches
/// ahead of the training loop, up to <see cref="Prefetch"/> batches ahead, so decoding and augmentation
/// overlap the model's step. Batches come out in order whatever the number of workers.
/// </summary>
/// <remarks>
/// <para>Determinism: the order of epoch <c>e</c> depends on (<see cref="Seed"/>, e) as in
/// <see cref="DataLoader"/>; the random transforms of sample <c>i</c> in epoch <c>e</c> draw from a
/// <see cref="Random"/> seeded by (<see cref="Seed"/>, e, i) alone, so the batches are the same with 0, 1 or
/// 8 workers.</para>
/// <para>A batch lives in one of the loader's reused buffers and is valid until the next <c>MoveNext</c>;
/// a new enumeration (or <see cref="Dispose"/>) stops the previous one's workers.</para>
/// </remarks>
public sealed class ImageDataLoader : IEnumerable<Batch>, IDisposable
{
    private readonly int _sampleSize;
    private readonly Slot[] _slots;
    private readonly int[] _order;
    private Run? _run;
    private bool _disposed;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="transform">Applied to every decoded sample (e.g. a <see cref="Compose"/>), or null.</param>
    /// <param name="batchSize">Samples per batch, 1 ... 65536.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new seeded random order.</param>
    /// <param name="seed">Seed of the shuffling and of the random transforms.</param>
    /// <param name="dropLast">Whether to drop a last batch smaller than <paramref name="batchSize"/>.</param>
    /// <param name="workers">Background threads assembling batches, 0 ... 64 (0: in the caller's thread, on demand).</param>
    /// <param name="prefetch">Batches prepared ahead with workers, 1 ... 64.</param>
    /// <param name="sampleShape">(C, H, W) every transformed sample has; null: taken from sample 0 (decoded once here).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    /// <exception cref="ArgumentException">The data set is empty.</exception>
    public ImageDataLoader(
        IImageDataset dataset,
        IImageTransform? transform,
        int batchSize,
        bool shuffle = false,
        int seed = 0,
        bool dropLast = false,
        int workers = 0,
        int prefetch = 2,
        (int Channels, int Height, int Width)? sampleShape = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, 65536);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workers, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefetch, 64);
        if (dataset.Count < 1)
        {
            throw new ArgumentException("the data set is empty.", nameof(dataset));
        }

        Dataset = dataset;
        Transform = transform;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Workers = workers;
        Prefetch = prefetch;
        SampleShape = sampleShape ?? LoadSample(0, 0).Shape;
        _sampleSize = DataChecks.SampleSize(SampleShape, nameof(sampleShape));
        Count = dataset.Count;
        BatchCount = dropLast ? Count / batchSize : (Count + batchSize - 1) / batchSize;
        _order = new int[Count];

        // One buffer for the batch the caller holds, plus one per batch being prepared or waiting.
        int slots = workers == 0 ? 1 : Math.Max(prefetch, workers) + 1;
        int remainder = dropLast ? 0 : Count % batchSize;
        _slots = new Slot[Math.Min(slots, Math.Max(BatchCount, 1))];
        try
        {
            for (int i = 0; i < _slots.Length; i++)
            {
                _slots[i] = new Slot(Count >= batchSize ? batchSize : 0, remainder, SampleShape);
            }
        }
        catch
        {
            DisposeSlots();
            throw;
        }
    }

    /// <summary>The data set.</summary>
    public IImageDataset Dataset { get; }

    /// <summary>The per-sample transform, or null.</summary>
    public IImageTransform? Transform { get; }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>(C, H, W) of every sample after the transform.</summary>
    public (int Channels, int Height, int Width) SampleShape { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount { get; }

    /// <summary>Whether each epoch shuffles.</summary>
    public bool Shuffle { get; }

    /// <summary>The seed of the shuffling and the random transforms.</summary>
    public int Seed { get; }

    /// <summary>Whether a last partial batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Background threads (0: batches are made in the caller's thread).</summary>
    public int Workers { get; }

    /// <summary>Batches prepared ahead (with workers).</summary>
    public int Prefetch { get; }

    /// <summary>The epoch number the next enumeration uses (each enumeration increments it).</summary>
    public int Epoch { get; set; }

    /// <summary>Sample <paramref name="index"/> decoded and transformed as epoch <paramref name="epoch"/> would (the same draws).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public PlanarImage LoadSample(int index, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Dataset.Count);
        PlanarImage image = Dataset.Load(index);
        return Transform is null ? image : Transform.Apply(image, new Random(DataChecks.Mix(DataChecks.Mix(Seed, 1), epoch, index)));
    }

    /// <summary>Starts an epoch (stopping any earlier enumeration's workers).</summary>
    /// <exception cref="ObjectDisposedException">The loader is disposed.</exception>
    public Enumerator GetEnumerator()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _run?.Stop();
        int epoch = Epoch;
        Epoch = unchecked(epoch + 1);
        Shuffling.Fill(_order, Shuffle, Seed, epoch);
        _run = new Run(this, epoch);
        return new Enumerator(_run);
    }

    IEnumerator<Batch> IEnumerable<Batch>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Stops the workers and frees the batch buffers. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _run?.Stop();
        DisposeSlots();
    }

    private void DisposeSlots()
    {
        foreach (Slot? slot in _slots)
        {
            slot?.Dispose();
        }
    }

    /// <summary>Decodes, transforms and copies batch <paramref name="batch"/> of the epoch into <paramref name="slot"/>.</summary>
    private Batch Fill(Slot slot, int batch, int epoch)
    {
        int start = batch * BatchSize;
        int n = Math.Min(BatchSize, Count - start);
        (Tensor tensor, int[] labels, int[] indices) = slot.For(n);
        Span<float> destination = tensor.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int index = _order[start + i];
            PlanarImage image = LoadSample(index, epoch);
            if (image.Shape != SampleShape)
            {
                throw new InvalidDataException(
                    $"{Dataset.Describe(index)} became a {image.Channels}x{image.Height}x{image.Width} sample; the loader's samples are " +
                    $"{SampleShape.Channels}x{SampleShape.Height}x{SampleShape.Width} (end the transform with a fixed-size step such as CenterCrop or Resize(h, w)).");
            }

            image.Data.AsSpan().CopyTo(destination.Slice(i * _sampleSize, _sampleSize));
            labels[i] = Dataset.GetLabel(index);
            indices[i] = index;
        }

        tensor.MarkWritten();
        return new Batch(tensor, labels, indices, batch);
    }

    /// <summary>The reused buffers of one batch: a full-size and, if the epoch ends with one, a partial-size tensor.</summary>
    private sealed class Slot : IDisposable
    {
        private readonly Tensor? _full;
        private readonly Tensor? _partial;
        private readonly int[] _fullLabels, _fullIndices, _partialLabels, _partialIndices;

        public Slot(int full, int partial, (int C, int H, int W) shape)
        {
            _full = full > 0 ? Tensor.Zeros(full, shape.C, shape.H, shape.W) : null;
            try
            {
                _partial = partial > 0 ? Tensor.Zeros(partial, shape.C, shape.H, shape.W) : null;
            }
            catch
            {
                _full?.Dispose();
                throw;
            }

            _fullLabels = new int[full];
            _fullIndices = new int[full];
            _partialLabels = new int[partial];
            _partialIndices = new int[partial];
        }

        public (Tensor Tensor, int[] Labels, int[] Indices) For(int n) =>
            n == _fullLabels.Length ? (_full!, _fullLabels, _fullIndices) : (_partial!, _partialLabels, _partialIndices);

        public void Dispose()
        {
            _full?.Dispose();
            _partial?.Dispose();
        }
    }

    /// <summary>One epoch in progress: the workers, the free buffers and the finished batches by number.</summary>
    internal sealed class Run
    {
        private readonly ImageDataLoader _loader;
        private readonly object _gate = new();
        private readonly Queue<Slot> _free;
        private readonly Batch?[] _ready;
        private readonly Slot?[] _readySlots;
        private readonly Thread[] _threads;
        private int _nextToClaim;
        private Slot? _held;
        private ExceptionDispatchInfo? _error;
        private bool _stopped;

        public Run(ImageDataLoader loader, int epoch)
        {
            _loader = loader;
            Epoch = epoch;
            _free = new Queue<Slot>(loader._slots);
            _ready = new Batch?[loader.BatchCount];
            _readySlots = new Slot?[loader.BatchCount];
            _threads = new Thread[loader.Workers];
            for (int i = 0; i < _threads.Length; i++)
            {
                _threads[i] = new Thread(Work) { IsBackground = true, Name = $"CnnNative image loader {i}" };
                _threads[i].Start();
            }
        }

        public int Epoch { get; }

        public int BatchCount => _loader.BatchCount;

        /// <summary>Batch <paramref name="b"/> (the previous one's buffer goes back to the workers).</summary>
        public Batch Take(int b)
        {
            lock (_gate)
            {
                if (_stopped && _error is null)
                {
                    throw new InvalidOperationException(
                        _loader._disposed
                            ? "the ImageDataLoader was disposed during the enumeration."
                            : "the ImageDataLoader was enumerated again: a new epoch invalidates the previous enumeration (their batches share buffers).");
                }

                Release();
                if (_threads.Length == 0)
                {
                    _held = _free.Dequeue();
                }
                else
                {
                    while (_ready[b] is null && _error is null)
                    {
                        Monitor.Wait(_gate);
                    }

                    _error?.Throw();
                    _held = _readySlots[b];
                    _readySlots[b] = null;
                    Batch ready = _ready[b]!.Value;
                    _ready[b] = null;
                    return ready;
                }
            }

            // No workers: fill in the caller's thread.
            return _loader.Fill(_held!, b, Epoch);
        }

        /// <summary>Returns the held buffer (end of the epoch or of the enumeration).</summary>
        public void Release()
        {
            lock (_gate)
            {
                if (_held is not null)
                {
                    _free.Enqueue(_held);
                    _held = null;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        /// <summary>Stops the workers and waits for them.</summary>
        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.PulseAll(_gate);
            }

            foreach (Thread t in _threads)
            {
                t.Join();
            }
        }

        private void Work()
        {
            while (true)
            {
                Slot slot;
                int b;
                lock (_gate)
                {
                    while (!_stopped && _free.Count == 0 && _nextToClaim < BatchCount)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_stopped || _nextToClaim >= BatchCount)
                    {
                        return;
                    }

                    slot = _free.Dequeue();
                    b = _nextToClaim++;
                }

                try
                {
                    Batch batch = _loader.Fill(slot, b, Epoch);
                    lock (_gate)
                    {
                        _ready[b] = batch;
                        _readySlots[b] = slot;
                        Monitor.PulseAll(_gate);
                    }
                }
                catch (Exception ex)
                {
                    lock (_gate)
                    {
                        _error ??= ExceptionDispatchInfo.Capture(ex);
                        _stopped = true;
                        Monitor.PulseAll(_gate);
                    }

                    return;
                }
            }
        }
    }

    /// <summary>Enumerates the batches of one epoch.</summary>
    public sealed class Enumerator : IEnumerator<Batch>
    {
        private readonly Run _run;
        private int _next;
        private Batch _current;

        internal Enumerator(Run run) => _run = run;

        /// <summary>The epoch number of this enumeration.</summary>
        public int Epoch => _run.Epoch;

        /// <summary>The current batch (valid until the next <see cref="MoveNext"/>).</summary>
        public Batch Current => _current;

        object IEnumerator.Current => _current;

        /// <summary>Makes (or waits for) the next batch; false after the last one.</summary>
        /// <exception cref="InvalidOperationException">The loader was enumerated again or disposed meanwhile.</exception>
        /// <exception cref="InvalidDataException">A sample could not be decoded or has another shape.</exception>
        public bool MoveNext()
        {
            if (_next >= _run.BatchCount)
            {
                _run.Release();
                _current = default;
                return false;
            }

            _current = _run.Take(_next);
            _next++;
            return true;
        }

        /// <summary>Not supported (start a new epoch with <see cref="ImageDataLoader.GetEnumerator"/>).</summary>
        public void Reset() => throw new NotSupportedException("start a new epoch with ImageDataLoader.GetEnumerator() instead.");

        /// <summary>Returns the held buffer; the loader stops the workers at the next epoch or at disposal.</summary>
        public void Dispose() => _run.Release();
    }
}
