using System.Runtime.InteropServices;
using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// Library-wide settings and information. <see cref="Isa"/> and <see cref="NumThreads"/> belong to
/// the calling thread: each thread has its own native context (created on first use), so one thread
/// can run the reference kernels while another runs the AVX2 ones.
/// </summary>
public static unsafe class Cnn
{
    // Per thread, like Isa and NumThreads: a host running sessions or tests on several threads gets
    // reproducible initialisation on each thread without one thread's ManualSeed reseeding another's.
    [ThreadStatic]
    private static Random? t_rng;

    /// <summary>
    /// The kernel family the calling thread's ops use. Reading gives the resolved family (never
    /// <see cref="CnnIsa.Auto"/>); setting <see cref="CnnIsa.Auto"/> picks the best one this CPU supports.
    /// New threads start from the <c>CNN_ISA</c> environment variable (reference, avx2, avx512) or Auto.
    /// </summary>
    /// <exception cref="NotSupportedException">Set to an instruction set this CPU lacks (see <see cref="IsSupported"/>).</exception>
    /// <exception cref="ArgumentException">Set to a value that is not a <see cref="CnnIsa"/>.</exception>
    public static CnnIsa Isa
    {
        get
        {
            CnnIsa isa;
            Native.Check(NativeMethods.cnn_context_get_isa(Native.ContextPointer, &isa));
            return isa;
        }

        set => Native.Check(NativeMethods.cnn_context_set_isa(Native.ContextPointer, value));
    }

    /// <summary>
    /// How many threads one op called from the calling thread may use (1 ... 256); setting 0 means
    /// all hardware threads. New threads start from <c>CNN_NUM_THREADS</c> or all hardware threads.
    /// </summary>
    /// <exception cref="ArgumentException">Set to a negative value or more than 256.</exception>
    public static int NumThreads
    {
        get
        {
            int threads;
            Native.Check(NativeMethods.cnn_context_get_num_threads(Native.ContextPointer, &threads));
            return threads;
        }

        set => Native.Check(NativeMethods.cnn_context_set_num_threads(Native.ContextPointer, value));
    }

    /// <summary>The number of hardware threads the native library may use (the default thread budget).</summary>
    public static int HardwareThreads
    {
        get
        {
            int threads;
            Native.Check(NativeMethods.cnn_get_hardware_threads(&threads));
            return threads;
        }
    }

    /// <summary>The native library's version, "major.minor.patch".</summary>
    public static string Version => Marshal.PtrToStringUTF8((nint)NativeMethods.cnn_get_version()) ?? string.Empty;

    /// <summary>
    /// Whether this CPU and OS support an instruction set (<see cref="CnnIsa.Auto"/> and
    /// <see cref="CnnIsa.Reference"/> always are).
    /// </summary>
    /// <param name="isa">The instruction set to ask about.</param>
    /// <exception cref="ArgumentException"><paramref name="isa"/> is not a <see cref="CnnIsa"/> value.</exception>
    public static bool IsSupported(CnnIsa isa)
    {
        int supported;
        Native.Check(NativeMethods.cnn_isa_is_supported(isa, &supported));
        return supported != 0;
    }

    /// <summary>
    /// Seeds the calling thread's generator that layers (<c>CnnNative.Nn</c>) draw their initial
    /// parameters (and training-mode dropout seeds) from, so that the same seed and the same sequence
    /// of layer constructions on a thread give the same parameters. Per thread, like <see cref="Isa"/>
    /// and <see cref="NumThreads"/>; until it is called, a thread's generator is seeded arbitrarily.
    /// </summary>
    /// <param name="seed">The seed.</param>
    public static void ManualSeed(int seed) => t_rng = new Random(seed);

    /// <summary>
    /// Counters of the native memory the library owns (tensors and per-thread scratch): blocks and
    /// bytes live now, and allocations made since the process started.
    /// </summary>
    public static NativeMemoryStats MemoryStats()
    {
        long blocks, bytes, total;
        Native.Check(NativeMethods.cnn_get_memory_stats(&blocks, &bytes, &total));
        return new NativeMemoryStats(blocks, bytes, total);
    }

    /// <summary>
    /// Returns to the system the freed native blocks the library keeps for reuse (freed blocks of
    /// 64 KiB or more are cached, up to <c>CNN_MEMORY_CACHE_MB</c>, default 256 MiB, so a training
    /// loop does not page-fault its buffers in again every step). Call it after training when the
    /// memory is wanted elsewhere.
    /// </summary>
    public static void TrimMemory() => NativeMethods.cnn_trim_memory();

    /// <summary>
    /// The calling thread's generator for layer initialisation, seeded by <see cref="ManualSeed"/>
    /// (read it again after ManualSeed: seeding replaces the generator).
    /// </summary>
    internal static Random Rng => t_rng ??= new Random();
}

/// <summary>Native memory counters (see <see cref="Cnn.MemoryStats"/>).</summary>
/// <param name="LiveBlocks">Blocks allocated and not yet freed (tensors and context scratch).</param>
/// <param name="LiveBytes">Bytes in those blocks.</param>
/// <param name="TotalAllocations">Allocations made since the process started.</param>
public readonly record struct NativeMemoryStats(long LiveBlocks, long LiveBytes, long TotalAllocations);
