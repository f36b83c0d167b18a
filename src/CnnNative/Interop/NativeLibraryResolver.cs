using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnNative.Interop;

/// <summary>
/// Finds libcnnnative for the generated <c>[LibraryImport("cnnnative")]</c> bindings. Order:
/// <list type="number">
/// <item>the environment variable <c>CNN_NATIVE_LIBRARY</c> (a full path; if set, it must load);</item>
/// <item><c>AppContext.BaseDirectory/runtimes/&lt;rid&gt;/native/</c> (where the project copies it);</item>
/// <item>the directory of the CnnNative assembly (and its <c>runtimes/&lt;rid&gt;/native/</c>);</item>
/// <item>the runtime's default probing (deps.json native assets of a NuGet package, the system loader).</item>
/// </list>
/// If nothing loads, a <see cref="DllNotFoundException"/> lists every path tried.
/// </summary>
internal static class NativeLibraryResolver
{
    /// <summary>The library name the generated bindings import.</summary>
    public const string LibraryName = "cnnnative";

    /// <summary>The environment variable holding an explicit path to the library.</summary>
    public const string PathVariable = "CNN_NATIVE_LIBRARY";

    private static readonly object s_gate = new();
    private static nint s_handle;

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The resolver must be registered before the first P/Invoke, whatever API is called first.")]
    internal static void Register()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName)
        {
            return nint.Zero;
        }

        lock (s_gate)
        {
            if (s_handle == nint.Zero)
            {
                s_handle = Load(assembly, searchPath);
            }

            return s_handle;
        }
    }

    private static nint Load(Assembly assembly, DllImportSearchPath? searchPath)
    {
        string? explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            try
            {
                return NativeLibrary.Load(explicitPath);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new DllNotFoundException(
                    $"{PathVariable} is set to '{explicitPath}', which could not be loaded (unset it to use the copy " +
                    $"next to the application, or run ./build.sh native to build one): {e.Message}", e);
            }
        }

        string fileName = PlatformFileName();
        var tried = new List<string>();
        var candidates = new List<string>();
        foreach (string rid in RuntimeIdentifiers())
        {
            candidates.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", fileName));
        }

        string assemblyDirectory = Path.GetDirectoryName(assembly.Location) ?? string.Empty;
        if (assemblyDirectory.Length > 0)
        {
            candidates.Add(Path.Combine(assemblyDirectory, fileName));
            foreach (string rid in RuntimeIdentifiers())
            {
                candidates.Add(Path.Combine(assemblyDirectory, "runtimes", rid, "native", fileName));
            }
        }

        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (!File.Exists(candidate))
            {
                tried.Add($"{candidate} (not found)");
                continue;
            }

            // A file that exists but does not load (wrong architecture, missing dependency) is
            // reported with the loader's reason.
            try
            {
                return NativeLibrary.Load(candidate);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                tried.Add($"{candidate} (exists but failed to load: {e.Message})");
            }
        }

        if (NativeLibrary.TryLoad(LibraryName, assembly, searchPath, out nint probed))
        {
            return probed;
        }

        tried.Add($"'{LibraryName}' through the default probing (deps.json native assets, LD_LIBRARY_PATH, system paths) (failed)");
        throw new DllNotFoundException(
            $"Could not load the CnnNative native library ({fileName}). Tried:{Environment.NewLine}  " +
            string.Join(Environment.NewLine + "  ", tried) + Environment.NewLine +
            $"Build it with `./build.sh native` (then rebuild the .NET project so it is copied to the output), " +
            $"or set {PathVariable} to its full path.");
    }

    private static string PlatformFileName()
    {
        if (OperatingSystem.IsWindows())
        {
            return LibraryName + ".dll";
        }

        return OperatingSystem.IsMacOS() ? "lib" + LibraryName + ".dylib" : "lib" + LibraryName + ".so";
    }

    /// <summary>The runtime's own RID first, then the portable one (e.g. linux-x64).</summary>
    private static IEnumerable<string> RuntimeIdentifiers()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string portable = os + "-" + arch;
        string runtime = RuntimeInformation.RuntimeIdentifier;
        yield return portable;
        if (!string.Equals(runtime, portable, StringComparison.Ordinal))
        {
            yield return runtime;
        }
    }
}
