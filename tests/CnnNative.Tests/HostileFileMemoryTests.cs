using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using CnnNative.IO;
using CnnNative.Models;
using CnnNative.Onnx;
using CnnNative.Onnx.Proto;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

namespace CnnNative.Tests;

/// <summary>
/// Small (or sparse) files that declare large tensors are rejected before anything of the declared size is
/// allocated. Each test measures what the rejected load allocated: native blocks (<see cref="Cnn.MemoryStats"/>,
/// hence the serial memory collection: no other test allocates meanwhile) and managed bytes on this thread.
/// Sparse files are made with <see cref="FileStream.SetLength"/>: gigabytes of file, a few bytes of disk.
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class HostileFileMemoryTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    /// <summary>A safetensors file of one tensor whose data is a hole: the header is all that is written.</summary>
    private static string SparseSafetensors(string name, string dtype, long[] shape, int elementSize)
    {
        long bytes = shape.Aggregate(1L, (a, b) => a * b) * elementSize;
        string json = $"{{\"{name}\": {{\"dtype\": \"{dtype}\", \"shape\": [{string.Join(", ", shape)}], \"data_offsets\": [0, {bytes}]}}}}";
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        string path = TestPaths.NewScratchFile("sparse", ".safetensors");
        using var fs = new FileStream(path, FileMode.Create);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        fs.Write(length);
        fs.Write(header);
        fs.SetLength(8 + header.Length + bytes);
        return path;
    }

    /// <summary>What <paramref name="action"/> allocated: native blocks, and managed bytes on this thread.</summary>
    private (long NativeAllocations, long ManagedBytes) Measure(Action action)
    {
        NativeMemoryStats before = MemoryBaseline.Settled();
        long managed = GC.GetAllocatedBytesForCurrentThread();
        action();
        long managedBytes = GC.GetAllocatedBytesForCurrentThread() - managed;
        long native = Cnn.MemoryStats().TotalAllocations - before.TotalAllocations;
        output.WriteLine($"allocated: {native} native block(s), {managedBytes / 1024.0:N0} KiB managed");
        return (native, managedBytes);
    }

    [Fact]
    public void A_safetensors_tensor_of_the_wrong_shape_is_rejected_from_the_header_before_any_tensor_is_allocated()
    {
        // 256 MiB of F16 (512 MiB as float32) under a LeNet-5 key with another shape.
        string path = SparseSafetensors("conv1.weight", "F16", [16384, 8192], 2);
        using var model = new LeNet5();
        InvalidDataException? e = null;
        var (native, managed) = Measure(() => e = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path)));
        output.WriteLine(e!.Message);
        Assert.StartsWith($"Safetensors file '{path}' does not fit LeNet5: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("size mismatch for 'conv1.weight': expected shape [6, 1, 5, 5], found [16384, 8192]", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, native);
        Assert.True(managed < MiB, $"{managed} managed bytes allocated to reject a header");
    }

    [Fact]
    public void A_safetensors_tensor_beyond_2_31_elements_is_not_supported_before_allocation()
    {
        // The audit's file: one [65536, 32768] F16 tensor, 4 GiB (2^31 elements, one more than a tensor's span can hold).
        string path = SparseSafetensors("w", "F16", [65536, 32768], 2);
        NotSupportedException? e = null;
        var (native, managed) = Measure(() => e = Assert.Throws<NotSupportedException>(() => Safetensors.Load(path)));
        Assert.Equal($"Safetensors file '{path}': tensor 'w' has shape [65536, 32768], 2147483648 elements; at most 2147483647 (2^31 - 1) elements per tensor can be loaded.", e!.Message);
        Assert.Equal(0, native);
        Assert.True(managed < MiB, $"{managed} managed bytes allocated to reject a header");
    }

    /// <summary>A gzip IDX images file: the header declares <paramref name="declared"/> images of 28x28, followed by <paramref name="pixels"/> zero bytes.</summary>
    private static string GzipImages(int declared, long pixels)
    {
        string path = TestPaths.NewScratchFile("images", ".gz");
        using var gz = new GZipStream(new FileStream(path, FileMode.Create), CompressionLevel.SmallestSize);
        gz.Write(IdxFiles.Bytes(Idx.ImagesMagic, [declared, 28, 28], []));
        byte[] zeros = new byte[MiB];
        for (long done = 0; done < pixels; done += zeros.Length)
            gz.Write(zeros, 0, (int)Math.Min(zeros.Length, pixels - done));
        return path;
    }

    [Fact]
    public void An_idx_gzip_is_read_into_one_exact_allocation()
    {
        // 64 MiB of pixels compress to ~64 KiB. Before: a byte buffer grown by doubling (64 + 32 + ... MiB) and then the
        // floats (256 MiB). Now: the size is proven by decompressing once without keeping anything, then the floats are the
        // only large allocation (4 bytes per pixel).
        const int images = 85_600; // 67,110,400 pixels
        string path = GzipImages(images, images * 784L);
        output.WriteLine($"{new FileInfo(path).Length:N0}-byte gzip declaring {images * 784L:N0} pixels");
        IdxImages? loaded = null;
        var (_, managed) = Measure(() => loaded = Idx.LoadImages(path));
        Assert.Equal(images, loaded!.Count);
        long floats = images * 784L * sizeof(float);
        Assert.True(managed < floats + (4 * MiB), $"{managed:N0} managed bytes allocated; the images alone are {floats:N0}");
    }

    [Fact]
    public void An_idx_header_declaring_more_than_the_bound_is_rejected_before_decompressing()
    {
        // 2^28 + 784 pixels declared (default bound 2^28, 1 GiB of float32) by a file of a few KiB.
        string path = GzipImages((1 << 28) / 784 + 1, 0);
        InvalidDataException? e = null;
        var (_, managed) = Measure(() => e = Assert.Throws<InvalidDataException>(() => Idx.LoadImages(path)));
        Assert.Equal($"IDX file '{path}': dimensions [342393, 28, 28] declare more than 268435456 elements (the maxElements bound; default 268435456, 1 GiB of float32).", e!.Message);
        Assert.True(managed < MiB, $"{managed:N0} managed bytes allocated");

        // A lower bound rejects a smaller file; excess data is found without decompressing past the declared size + 1.
        string small = GzipImages(10, 10 * 784);
        Assert.Contains("declare more than 1000 elements", Assert.Throws<InvalidDataException>(() => Idx.LoadImages(small, maxElements: 1000)).Message, StringComparison.Ordinal);
        string excess = GzipImages(10, 64 * MiB);
        (_, managed) = Measure(() => e = Assert.Throws<InvalidDataException>(() => Idx.LoadImages(excess)));
        Assert.Equal($"IDX file '{excess}': unexpected bytes after the 7840 data bytes of dimensions [10, 28, 28].", e!.Message);
        Assert.True(managed < MiB, $"{managed:N0} managed bytes allocated");
    }

    /// <summary>x [1024, 2048] + c, where c is the initializer big [1024, 2048] itself or, with <paramref name="transpose"/>, folded from its transpose and a Reshape.</summary>
    private static byte[] FoldModel(bool transpose)
    {
        const int rows = 1024, cols = 2048;
        var graph = new GraphProto { Name = "fold" };
        graph.Input.Add(OnnxFiles.Value("x", rows, cols));
        graph.Output.Add(OnnxFiles.Value("y", rows, cols));
        graph.Initializer.Add(OnnxFiles.Floats("big", [rows, cols], new float[rows * cols]));
        if (transpose)
        {
            graph.Node.Add(OnnxFiles.Node("Transpose", "t", ["big"], ["bt"], OnnxFiles.Ints("perm", 1, 0)));
            graph.Node.Add(OnnxFiles.Node("Reshape", "r", ["bt", "shape"], ["c"]));
            graph.Initializer.Add(new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, Int64Data = { rows, cols } });
        }

        graph.Node.Add(OnnxFiles.Node("Add", "add", ["x", transpose ? "c" : "big"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return OnnxFiles.Bytes(model);
    }

    [Fact]
    public void An_onnx_constant_fold_over_the_bound_is_refused_before_it_is_computed()
    {
        // Transpose of a 2^21-element (8 MiB) initializer: over the default MaxFoldedElements (2^20). Before the fix the
        // index arrays and the copy were built first (the audit saw 647 MB for a 64 MiB initializer).
        byte[] plain = FoldModel(transpose: false), folded = FoldModel(transpose: true);
        var (_, parsing) = Measure(() => OnnxModel.Load(new MemoryStream(plain)).Dispose()); // reading the initializer costs this much

        NotSupportedException? e = null;
        var (_, managed) = Measure(() => e = Assert.Throws<NotSupportedException>(() => OnnxModel.Load(new MemoryStream(folded))));
        Assert.Equal("ONNX node 't' (Transpose): a constant computation of more than 1048576 elements is not supported (OnnxLoadOptions.MaxFoldedElements).", e!.Message);
        Assert.True(managed < parsing + (2 * MiB), $"{managed:N0} managed bytes allocated; loading the same initializer without folding takes {parsing:N0}");

        // Raised, the same model loads (and folds).
        using OnnxModel loaded = OnnxModel.Load(new MemoryStream(folded), new OnnxLoadOptions { MaxFoldedElements = 1 << 21 });
        Assert.Equal([1024, 2048], loaded.Inputs[0].Shape);
    }
}
