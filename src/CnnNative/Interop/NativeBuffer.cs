using System.Runtime.InteropServices;

namespace CnnNative.Interop;

/// <summary>
/// Owns a block of 64-byte aligned, zero-filled native memory from <c>cnn_alloc</c>; releases it
/// with <c>cnn_free</c> when the last reference (<see cref="SafeHandle.DangerousAddRef"/>) is gone,
/// so a forgotten Dispose is cleaned up by the finalizer.
/// </summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    private NativeBuffer()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <summary>Size of the block in bytes.</summary>
    public long ByteLength { get; private set; }

    /// <summary>
    /// Incremented by every library write into this block (autograd checks that storage saved for a
    /// backward pass was not modified in place before the pass ran).
    /// </summary>
    public int Version;

    private static long s_allocations;

    /// <summary>Allocation order of this buffer, process-wide (a trace tells storage made during it from older storage).</summary>
    public long Serial { get; } = Interlocked.Increment(ref s_allocations);

    /// <summary>The <see cref="Serial"/> the next buffer will get.</summary>
    public static long NextSerial => Interlocked.Read(ref s_allocations) + 1;

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Start of the block (valid while a reference is held).</summary>
    public void* Pointer => (void*)handle;

    /// <summary>Allocates <paramref name="byteLength"/> bytes (1 ... 2^46) through <c>cnn_alloc</c>.</summary>
    /// <exception cref="ArgumentException">The size is out of the native range.</exception>
    /// <exception cref="OutOfMemoryException">The native allocation failed.</exception>
    public static NativeBuffer Allocate(long byteLength)
    {
        // Create the managed owner first so that nothing can fail between the native allocation
        // and handing it to the SafeHandle.
        var buffer = new NativeBuffer();
        void* pointer = null;
        Native.Check(NativeMethods.cnn_alloc(byteLength, &pointer));
        buffer.SetHandle((nint)pointer);
        buffer.ByteLength = byteLength;
        return buffer;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.cnn_free((void*)handle);
        return true;
    }
}

/// <summary>
/// One extra reference on a <see cref="NativeBuffer"/>, held by a view tensor: disposing (or
/// finalizing) it releases that reference, so the memory lives while any tensor using it does.
/// </summary>
internal sealed class NativeBufferLease : SafeHandle
{
    private readonly NativeBuffer _buffer;

    /// <summary>Takes a reference on <paramref name="buffer"/>.</summary>
    /// <exception cref="ObjectDisposedException">The buffer is already released.</exception>
    public NativeBufferLease(NativeBuffer buffer)
        : base(nint.Zero, ownsHandle: true)
    {
        _buffer = buffer;
        bool added = false;
        buffer.DangerousAddRef(ref added);
        if (added)
        {
            SetHandle(buffer.DangerousGetHandle());
        }
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        _buffer.DangerousRelease();
        return true;
    }
}
