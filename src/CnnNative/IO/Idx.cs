using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace CnnNative.IO;

/// <summary>Images read from an IDX file: <see cref="Count"/> images of <see cref="Rows"/> x <see cref="Cols"/> pixels.</summary>
/// <param name="Data">Pixels scaled to [0, 1] (byte / 255), image-major, row-major: length Count * Rows * Cols.</param>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Cols">Image width.</param>
public sealed record IdxImages(float[] Data, int Count, int Rows, int Cols)
{
    /// <summary>Pixels per image.</summary>
    public int ImageSize => Rows * Cols;

    /// <summary>The pixels of one image (a slice of <see cref="Data"/>, no copy).</summary>
    public ReadOnlySpan<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Data.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>Images <paramref name="start"/> ... start+count-1 as a new [count, 1, Rows, Cols] tensor (the caller disposes it).</summary>
    public Tensor ToTensor(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if ((long)start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Images {start} ... {start + (long)count - 1} requested but there are only {Count}.");
        return Tensor.FromSpan(Data.AsSpan(start * ImageSize, count * ImageSize), count, 1, Rows, Cols);
    }

    /// <summary>All images as a new [Count, 1, Rows, Cols] tensor (the caller disposes it).</summary>
    public Tensor ToTensor() => ToTensor(0, Count);
}

/// <summary>
/// Reader of the IDX format used by MNIST and Fashion-MNIST (big-endian header: two zero bytes, a type
/// byte (0x08 = unsigned byte), the number of dimensions, then each dimension as a big-endian int32,
/// then the data). Gzip-compressed files are recognised by their magic bytes (1f 8b) and decompressed on the fly.
/// </summary>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte IDX file with three dimensions (images).</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>Magic number of an unsigned-byte IDX file with one dimension (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>
    /// Default bound on the elements (pixels or labels) one IDX file may declare: 2^28, i.e. 1 GiB of float32
    /// images (Fashion-MNIST's training set is 47 million). The header's dimensions are checked against it
    /// before anything is allocated; pass a larger <c>maxElements</c> for a larger data set (at most 2^31 - 65).
    /// </summary>
    public const long DefaultMaxElements = 1L << 28;

    /// <summary>Reads an IDX3 image file (optionally gzip-compressed), scaling pixels to [0, 1]; at most <see cref="DefaultMaxElements"/> pixels.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad magic, bad or too large dimensions, truncated or trailing data; the message names the file.</exception>
    public static IdxImages LoadImages(string path) => LoadImages(path, DefaultMaxElements);

    /// <summary>Reads an IDX3 image file (optionally gzip-compressed), scaling pixels to [0, 1].</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxElements">Largest pixel count the header may declare (<see cref="DefaultMaxElements"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad magic, bad or too large dimensions, truncated or trailing data; the message names the file.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxElements"/> is not in 1 ... 2^31 - 65.</exception>
    public static IdxImages LoadImages(string path, long maxElements)
    {
        var data = Array.Empty<float>();
        // Division (not multiplication by 1/255) so values equal torchvision's ToTensor() bit for bit.
        int[] dims = ReadIdx(path, ImagesMagic, 3, "images", maxElements,
            total => data = new float[total],
            (bytes, offset) =>
            {
                var dest = data.AsSpan(offset, bytes.Length);
                for (int i = 0; i < bytes.Length; i++) dest[i] = bytes[i] / 255f;
            });
        return new IdxImages(data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads an IDX1 label file (optionally gzip-compressed); at most <see cref="DefaultMaxElements"/> labels.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad magic, too many labels, truncated or trailing data; the message names the file.</exception>
    public static byte[] LoadLabels(string path) => LoadLabels(path, DefaultMaxElements);

    /// <summary>Reads an IDX1 label file (optionally gzip-compressed).</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxElements">Largest label count the header may declare (<see cref="DefaultMaxElements"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad magic, too many labels, truncated or trailing data; the message names the file.</exception>
    public static byte[] LoadLabels(string path, long maxElements)
    {
        var data = Array.Empty<byte>();
        ReadIdx(path, LabelsMagic, 1, "labels", maxElements, total => data = new byte[total], (bytes, offset) => bytes.CopyTo(data.AsSpan(offset)));
        return data;
    }

    /// <summary>Largest payload accepted at all (the element count must also fit a .NET array).</summary>
    private const long MaxElements = int.MaxValue - 64;

    private delegate void ChunkSink(ReadOnlySpan<byte> bytes, int offset);

    /// <summary>
    /// Validates the header, then proves the payload is exactly the declared size before <paramref name="allocate"/>
    /// is called: a plain file by its length, a gzip file by decompressing it once without keeping anything (it
    /// stops at the first byte beyond the declared size). Then the payload is streamed to <paramref name="sink"/>.
    /// </summary>
    private static int[] ReadIdx(string path, int expectedMagic, int rank, string what, long maxElements,
        Action<int> allocate, ChunkSink sink)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (maxElements < 1 || maxElements > MaxElements)
            throw new ArgumentOutOfRangeException(nameof(maxElements), maxElements, $"maxElements must be in 1 ... {MaxElements}.");
        if (!File.Exists(path))
            throw new FileNotFoundException(MissingMessage(path), path);

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        Span<byte> probe = stackalloc byte[2];
        int got = file.ReadAtLeast(probe, 2, throwOnEndOfStream: false);
        bool gzip = got == 2 && probe[0] == 0x1f && probe[1] == 0x8b;

        int headerLength = 4 + (4 * rank);
        int[] dims = [];
        long total = 0;
        string described = "";
        FromStart(file, gzip, stream =>
        {
            (dims, total) = ReadHeader(stream, path, expectedMagic, rank, what, maxElements, headerLength);
            described = $"dimensions [{string.Join(", ", dims)}]";
            if (gzip) // the decompressed size is known only by decompressing: count it, keeping nothing
                ReadPayload(stream, path, total, described, sink: null);
        });
        if (!gzip)
        {
            long available = file.Length - headerLength;
            if (available < total)
                throw Bad(path, $"truncated: {described} need {total} data bytes but the file has {available}");
            if (available > total)
                throw Bad(path, $"{available - total} unexpected bytes after the {total} data bytes of {described}");
        }

        allocate((int)total);
        FromStart(file, gzip, stream =>
        {
            stream.ReadExactly(new byte[headerLength]);
            ReadPayload(stream, path, total, described, sink);
        });
        return dims;
    }

    /// <summary>Runs <paramref name="read"/> on the file from its start, decompressed if it is gzip (the file stays open).</summary>
    private static void FromStart(FileStream file, bool gzip, Action<Stream> read)
    {
        file.Position = 0;
        Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
        try
        {
            read(stream);
        }
        finally
        {
            if (gzip) stream.Dispose();
        }
    }

    private static (int[] Dims, long Total) ReadHeader(Stream stream, string path, int expectedMagic, int rank, string what, long maxElements, int headerLength)
    {
        byte[] head = new byte[headerLength];
        int n = ReadFully(stream, head, path);
        if (n < 4)
            throw Bad(path, $"truncated: {n} bytes, too short for the 4-byte magic number");
        int magic = BinaryPrimitives.ReadInt32BigEndian(head);
        if (magic != expectedMagic)
        {
            string hint = magic == (expectedMagic == ImagesMagic ? LabelsMagic : ImagesMagic)
                ? $" (this looks like an IDX {(magic == ImagesMagic ? "images" : "labels")} file)" : "";
            throw Bad(path, $"magic number 0x{magic:X8} is not 0x{expectedMagic:X8} (unsigned-byte {what}, {rank} dimension{(rank == 1 ? "" : "s")}){hint}");
        }
        if (n < head.Length)
            throw Bad(path, $"truncated: the header needs {head.Length} bytes but the file has {n}");

        var dims = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(4 + (4 * i)));
            if (d <= 0)
                throw Bad(path, $"dimension {i} is {d}; it must be positive");
            dims[i] = d;
            total *= d;
            if (total > maxElements)
                throw Bad(path, $"dimensions [{string.Join(", ", dims.Take(i + 1))}] declare more than {maxElements} elements (the maxElements bound; default {DefaultMaxElements}, 1 GiB of float32)");
        }
        return (dims, total);
    }

    /// <summary>
    /// Reads exactly <paramref name="total"/> payload bytes in chunks, passing each to <paramref name="sink"/> (null:
    /// only count), then requires the end of the stream: never more than one byte past the declared size is read.
    /// </summary>
    private static void ReadPayload(Stream stream, string path, long total, string described, ChunkSink? sink)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long done = 0;
            while (done < total)
            {
                int want = (int)Math.Min(buffer.Length, total - done);
                int n = ReadFully(stream, buffer.AsSpan(0, want), path);
                if (n < want)
                    throw Bad(path, $"truncated: {described} need {total} data bytes but only {done + n} are present");
                sink?.Invoke(buffer.AsSpan(0, n), (int)done);
                done += n;
            }
            if (ReadFully(stream, buffer.AsSpan(0, 1), path) != 0)
                throw Bad(path, $"unexpected bytes after the {total} data bytes of {described}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException ex)
        {
            throw Bad(path, $"corrupt gzip data: {ex.Message}", ex);
        }
    }

    private static InvalidDataException Bad(string path, string problem, Exception? inner = null)
        => new($"IDX file '{path}': {problem}.", inner);

    internal static string MissingMessage(string path)
    {
        string msg = $"IDX file '{path}' not found.";
        if (Path.GetFullPath(path).StartsWith(FashionMnist.DefaultDirectory, StringComparison.Ordinal))
            msg += " Install the Fashion-MNIST data set with: apt-get install dataset-fashion-mnist";
        else
            msg += $" (Fashion-MNIST is installed to {FashionMnist.DefaultDirectory} by: apt-get install dataset-fashion-mnist)";
        return msg;
    }
}

/// <summary>One split of an image classification data set: images and their labels (same count).</summary>
public sealed record LabeledImages(IdxImages Images, byte[] Labels)
{
    /// <summary>Number of examples.</summary>
    public int Count => Labels.Length;
}

/// <summary>
/// Fashion-MNIST (Zalando): 28x28 grey-scale images of 10 clothing classes, 60,000 for training and
/// 10,000 for testing, as installed by Debian's <c>dataset-fashion-mnist</c> package.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The 10,000 test images and labels.</summary>
    public static LabeledImages LoadTest(string? directory = null) => Load("t10k", directory);

    /// <summary>The 60,000 training images and labels.</summary>
    public static LabeledImages LoadTrain(string? directory = null) => Load("train", directory);

    /// <summary>Loads a split: <paramref name="train"/> true for the training split, false for the test split.</summary>
    public static LabeledImages Load(bool train, string? directory = null) => train ? LoadTrain(directory) : LoadTest(directory);

    private static LabeledImages Load(string prefix, string? directory)
    {
        string dir = directory ?? DefaultDirectory;
        string images = FindFile(dir, $"{prefix}-images-idx3-ubyte");
        string labels = FindFile(dir, $"{prefix}-labels-idx1-ubyte");
        var img = Idx.LoadImages(images);
        var lab = Idx.LoadLabels(labels);
        if (img.Count != lab.Length)
            throw new InvalidDataException($"Fashion-MNIST '{prefix}' split in '{dir}': {img.Count} images in '{images}' but {lab.Length} labels in '{labels}'.");
        for (int i = 0; i < lab.Length; i++)
            if (lab[i] >= ClassNames.Count)
                throw new InvalidDataException($"Fashion-MNIST labels file '{labels}': label {i} is {lab[i]}, not a class 0 ... {ClassNames.Count - 1}.");
        return new LabeledImages(img, lab);
    }

    private static string FindFile(string dir, string baseName)
    {
        string gz = Path.Combine(dir, baseName + ".gz");
        if (File.Exists(gz)) return gz;
        string plain = Path.Combine(dir, baseName);
        if (File.Exists(plain)) return plain;
        throw new FileNotFoundException(
            $"Fashion-MNIST file '{gz}' not found (nor '{plain}'). Install the data set with: apt-get install dataset-fashion-mnist " +
            $"(it installs to {DefaultDirectory}).", gz);
    }
}
