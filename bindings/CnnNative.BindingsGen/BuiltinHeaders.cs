using System.Diagnostics;

namespace CnnNative.BindingsGen;

/// <summary>
/// The directory of the compiler's own headers (stddef.h, stdbool.h, stdarg.h, ...). libclang normally finds
/// clang's next to itself, but the libclang of NuGet's runtime package ships without them, so a header that
/// includes &lt;stdbool.h&gt; would not parse. The C compiler that builds native/ has a matching set:
/// `cc -print-file-name=include` names it. CNN_BINDINGS_BUILTIN_INCLUDE overrides the search.
/// </summary>
internal static class BuiltinHeaders
{
    private static readonly Lazy<string?> Found = new(Find);

    /// <summary>The directory, or null if no compiler was found (headers then may include glibc's only).</summary>
    public static string? Directory => Found.Value;

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CNN_BINDINGS_BUILTIN_INCLUDE") is { Length: > 0 } overridden)
            return overridden;
        foreach (string compiler in new[] { "cc", "gcc", "clang" })
        {
            string? dir = Ask(compiler);
            if (dir is not null && File.Exists(Path.Combine(dir, "stddef.h")))
                return dir;
        }
        return null;
    }

    private static string? Ask(string compiler)
    {
        var psi = new ProcessStartInfo(compiler, "-print-file-name=include")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using Process process = Process.Start(psi)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && Path.IsPathRooted(output) ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }
}
