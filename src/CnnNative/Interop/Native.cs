using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnNative.Interop;

/// <summary>
/// The one place native statuses become exceptions, and the per-thread native context every
/// wrapper passes to the native ops.
/// </summary>
internal static unsafe class Native
{
    [ThreadStatic]
    private static ContextHandle? t_context;

    /// <summary>
    /// This thread's native context (created on first use, destroyed by its finalizer after the
    /// thread is gone). A native context may be used by one thread at a time, hence one per thread.
    /// </summary>
    public static ContextHandle Context => t_context ?? CreateContext();

    /// <summary>The raw <c>cnn_context*</c> of <see cref="Context"/>, for passing to native calls.</summary>
    /// <remarks>Safe to use on the calling thread: the thread-static field keeps the handle alive.</remarks>
    public static nint ContextPointer => Context.DangerousGetHandle();

    /// <summary>
    /// Throws the exception matching a failed native status, with the native message
    /// (<c>cnn_get_last_error</c>); returns normally on success.
    /// </summary>
    /// <param name="status">The status a native call returned on this thread, just now.</param>
    /// <exception cref="ArgumentException">InvalidArgument.</exception>
    /// <exception cref="NotSupportedException">Unsupported.</exception>
    /// <exception cref="OutOfMemoryException">OutOfMemory.</exception>
    /// <exception cref="CnnNativeException">InternalError, or a status this version does not know.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(CnnStatus status)
    {
        if (status != CnnStatus.Success)
        {
            Throw(status);
        }
    }

    /// <summary>The message of the last failed native call on this thread ("" if none).</summary>
    public static string LastError()
    {
        byte* message = NativeMethods.cnn_get_last_error();
        return message == null ? string.Empty : Marshal.PtrToStringUTF8((nint)message) ?? string.Empty;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(CnnStatus status)
    {
        string message = LastError();
        if (message.Length == 0)
        {
            message = $"native call failed with status {status} and no message";
        }

        throw status switch
        {
            CnnStatus.InvalidArgument => new ArgumentException(message),
            CnnStatus.Unsupported => new NotSupportedException(message),
            CnnStatus.OutOfMemory => new OutOfMemoryException(message),
            CnnStatus.InternalError => new CnnNativeException(status, message),
            _ => new CnnNativeException(status, $"unknown native status {(int)status}: {message}"),
        };
    }

    private static ContextHandle CreateContext()
    {
        var handle = new ContextHandle();
        nint context;
        Check(NativeMethods.cnn_context_create(&context));
        handle.Attach(context);
        t_context = handle;
        return handle;
    }
}

/// <summary>Owns a native <c>cnn_context*</c>; releases it with <c>cnn_context_destroy</c>.</summary>
internal sealed class ContextHandle : SafeHandle
{
    /// <summary>Creates an empty (invalid) handle; <see cref="Attach"/> gives it its context.</summary>
    public ContextHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Takes ownership of a context from <c>cnn_context_create</c>.</summary>
    internal void Attach(nint context) => SetHandle(context);

    /// <summary>A new context with the given instruction set and thread budget.</summary>
    /// <exception cref="NotSupportedException">The CPU lacks <paramref name="isa"/>.</exception>
    internal static unsafe ContextHandle Create(CnnIsa isa, int numThreads)
    {
        var handle = new ContextHandle();
        try
        {
            nint context;
            Native.Check(NativeMethods.cnn_context_create(&context));
            handle.Attach(context);
            Native.Check(NativeMethods.cnn_context_set_isa(context, isa));
            Native.Check(NativeMethods.cnn_context_set_num_threads(context, numThreads));
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.cnn_context_destroy(handle);
        return true;
    }
}
