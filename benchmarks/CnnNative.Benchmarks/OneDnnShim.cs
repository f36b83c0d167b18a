using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnNative.Benchmarks;

/// <summary>
/// P/Invoke declarations for <c>libcnnbench_onednn.so</c> (benchmarks/onednn-shim/shim.h), the
/// oneDNN peer the kernel suite measures against.
/// </summary>
/// <remarks>
/// Hand-written on purpose and ONLY here, in the benchmark project: the shim is a measurement peer,
/// not part of CnnNative. The library itself never declares externs by hand (its calls go through
/// the generated bindings/NativeMethods.g.cs). The structs mirror shim.h field by field.
/// The library is found through <c>CNN_ONEDNN_SHIM</c> (a full path, set by benchmarks/run.sh), else
/// <c>build/onednn-shim/libcnnbench_onednn.so</c> above the benchmark's directory.
/// </remarks>
internal static unsafe partial class OneDnnShim
{
    private const string Library = "cnnbench_onednn";

    [StructLayout(LayoutKind.Sequential)]
    public struct Window
    {
        public int KernelH, KernelW, StrideH, StrideW, PadH, PadW;

        /// <summary>A square window with symmetric padding.</summary>
        public static Window Square(int kernel, int stride, int pad) => new()
        {
            KernelH = kernel, KernelW = kernel, StrideH = stride, StrideW = stride, PadH = pad, PadW = pad,
        };
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ConvDesc
    {
        public int Batch, InChannels, InHeight, InWidth, OutChannels, Groups;
        public Window Window;
        public float* Input;
        public float* Weight;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PoolDesc
    {
        public int Batch, Channels, InHeight, InWidth;
        public Window Window;
        public float* Input;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BnDesc
    {
        public int Batch, Channels, Height, Width;
        public float Eps;
        public float* Input, Mean, Var, Gamma, Beta;
    }

    [LibraryImport(Library, EntryPoint = "shim_set_threads")]
    private static partial int SetThreadsRaw(int threads);

    [LibraryImport(Library, EntryPoint = "shim_get_threads")]
    public static partial int GetThreads();

    [LibraryImport(Library, EntryPoint = "shim_conv_create")]
    private static partial int ConvCreate(ConvDesc* desc, nint* handle);

    [LibraryImport(Library, EntryPoint = "shim_pool_create")]
    private static partial int PoolCreate(PoolDesc* desc, nint* handle);

    [LibraryImport(Library, EntryPoint = "shim_bn_create")]
    private static partial int BnCreate(BnDesc* desc, nint* handle);

    [LibraryImport(Library, EntryPoint = "shim_run")]
    public static partial int Run(nint handle);

    [LibraryImport(Library, EntryPoint = "shim_read_output")]
    private static partial int ReadOutput(nint handle, float* dst, long count);

    [LibraryImport(Library, EntryPoint = "shim_impl_info")]
    private static partial int ImplInfo(nint handle, byte* buffer, int capacity);

    [LibraryImport(Library, EntryPoint = "shim_version")]
    private static partial int VersionRaw(byte* buffer, int capacity);

    [LibraryImport(Library, EntryPoint = "shim_last_error")]
    private static partial byte* LastError();

    [LibraryImport(Library, EntryPoint = "shim_destroy")]
    public static partial void Destroy(nint handle);

    [ModuleInitializer]
    internal static void RegisterResolver()
        => NativeLibrary.SetDllImportResolver(typeof(OneDnnShim).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }
        if (Environment.GetEnvironmentVariable("CNN_ONEDNN_SHIM") is { Length: > 0 } path)
        {
            return NativeLibrary.Load(path);
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "build", "onednn-shim", "libcnnbench_onednn.so");
            if (File.Exists(candidate))
            {
                return NativeLibrary.Load(candidate);
            }
        }
        throw new DllNotFoundException(
            "libcnnbench_onednn.so not found: build it with ./build.sh bench (or set CNN_ONEDNN_SHIM to its full path).");
    }

    /// <summary>Throws with the shim's message when a call failed.</summary>
    public static void Check(int status, string what)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"oneDNN shim: {what} failed (status {status}): {Marshal.PtrToStringUTF8((nint)LastError())}");
        }
    }

    public static void SetThreads(int threads) => Check(SetThreadsRaw(threads), $"shim_set_threads({threads})");

    public static nint CreateConv(ConvDesc desc)
    {
        nint handle;
        Check(ConvCreate(&desc, &handle), "shim_conv_create");
        return handle;
    }

    public static nint CreatePool(PoolDesc desc)
    {
        nint handle;
        Check(PoolCreate(&desc, &handle), "shim_pool_create");
        return handle;
    }

    public static nint CreateBatchNorm(BnDesc desc)
    {
        nint handle;
        Check(BnCreate(&desc, &handle), "shim_bn_create");
        return handle;
    }

    /// <summary>The output of the last run, as plain NCHW.</summary>
    public static float[] Output(nint handle, long count)
    {
        var result = new float[count];
        fixed (float* p = result)
        {
            Check(ReadOutput(handle, p, count), "shim_read_output");
        }
        return result;
    }

    /// <summary>oneDNN's name for the implementation it chose (e.g. "brg:avx512_core").</summary>
    public static string Implementation(nint handle)
    {
        byte* buffer = stackalloc byte[256];
        Check(ImplInfo(handle, buffer, 256), "shim_impl_info");
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }

    /// <summary>The oneDNN version and CPU runtime, e.g. "2.6.3 (cpu runtime OpenMP)".</summary>
    public static string Version()
    {
        byte* buffer = stackalloc byte[128];
        Check(VersionRaw(buffer, 128), "shim_version");
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }
}
