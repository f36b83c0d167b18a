using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// An error inside the native core that is not the caller's fault (a bug in libcnnnative, reported
/// as <see cref="CnnStatus.InternalError"/>), or a native status this version does not know.
/// Wrong arguments are <see cref="ArgumentException"/>, unavailable features
/// <see cref="NotSupportedException"/> and failed native allocations <see cref="OutOfMemoryException"/>.
/// </summary>
public sealed class CnnNativeException : Exception
{
    /// <summary>Creates the exception for a native status and its message.</summary>
    /// <param name="status">The status the native call returned.</param>
    /// <param name="message">The native message (from <c>cnn_get_last_error</c>).</param>
    public CnnNativeException(CnnStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    /// <summary>Creates the exception with <see cref="CnnStatus.InternalError"/> and a message.</summary>
    /// <param name="message">What went wrong.</param>
    public CnnNativeException(string message)
        : this(CnnStatus.InternalError, message)
    {
    }

    /// <summary>Creates the exception with <see cref="CnnStatus.InternalError"/>, a message and an inner exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public CnnNativeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = CnnStatus.InternalError;
    }

    /// <summary>The status the native call returned.</summary>
    public CnnStatus Status { get; }
}
