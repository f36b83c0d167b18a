using System.Reflection;
using System.Text;

namespace CnnNative.BindingsGen;

/// <summary>
/// The command line: generate bindings/NativeMethods.g.cs from native/include/cnn/cnn.h, or (--check)
/// compare it with a fresh generation. Exit codes: 0 ok, 1 drift (--check), 2 the header cannot be
/// mapped (or a bad command line), 3 libclang cannot be loaded.
/// </summary>
internal static class Cli
{
    public const int Ok = 0, Drift = 1, Unmappable = 2, NoLibclang = 3;
    private const string Name = "CnnNative.BindingsGen";

    private const string Usage = """
        usage: CnnNative.BindingsGen [--check] [--output PATH] [--header PATH] [--include-dir DIR]...
          --check            write nothing; exit 1 with a unified diff if the output file differs from a fresh generation
          --output PATH      where to write (default: bindings/NativeMethods.g.cs)
          --header PATH      the input header (default: native/include/cnn/cnn.h)
          --include-dir DIR  an -I directory (repeatable; default: native/include for cnn.h, else the header's directory)
        exit codes: 0 ok, 1 drift (--check), 2 the header cannot be mapped, 3 libclang unavailable
        """;

    /// <summary>The repository this tool was built in (default paths are relative to it).</summary>
    public static string RepoRoot { get; } = typeof(Cli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CnnNativeRepoRoot").Value!;

    public static string DefaultHeader => Path.Combine(RepoRoot, "native", "include", "cnn", "cnn.h");
    public static string DefaultOutput => Path.Combine(RepoRoot, "bindings", "NativeMethods.g.cs");

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool check = false;
        string output = DefaultOutput, header = DefaultHeader;
        List<string>? includeDirs = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                stdout.Write(Usage);
                return Ok;
            }
            if (arg == "--check")
            {
                check = true;
                continue;
            }
            if (arg is not ("--output" or "--header" or "--include-dir") || i + 1 == args.Length)
            {
                stderr.Write($"{Name}: {(i + 1 == args.Length && arg.StartsWith("--", StringComparison.Ordinal) ? $"{arg} needs a value" : $"unknown argument '{arg}'")}\n{Usage}");
                return Unmappable;
            }
            string value = Path.GetFullPath(args[++i]);
            switch (arg)
            {
                case "--output": output = value; break;
                case "--header": header = value; break;
                default: (includeDirs ??= []).Add(value); break;
            }
        }
        includeDirs ??= header == DefaultHeader
            ? [Path.Combine(RepoRoot, "native", "include")]
            : [Path.GetDirectoryName(header)!];

        string text;
        try
        {
            if (!File.Exists(header))
                throw new MappingException($"header not found: {header}");
            text = new Generator(header, includeDirs, DisplayPath(header), stderr).Generate();
        }
        catch (MappingException e)
        {
            stderr.WriteLine($"{Name}: cannot generate bindings:\n{e.Message}");
            return Unmappable;
        }
        catch (DllNotFoundException e)
        {
            stderr.WriteLine($"{Name}: cannot load libclang ({e.Message}); it comes from the NuGet package " +
                             "libclang.runtime.linux-x64: run `dotnet restore` on bindings/CnnNative.BindingsGen");
            return NoLibclang;
        }

        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        if (check)
        {
            if (!File.Exists(output))
            {
                stderr.WriteLine($"{Name}: {output} does not exist");
                return Drift;
            }
            string current = File.ReadAllText(output, utf8);
            if (current == text)
                return Ok;
            string rel = DisplayPath(output);
            stdout.Write(UnifiedDiff.Format(current, text, $"a/{rel} (committed)", $"b/{rel} (generated)"));
            return Drift;
        }
        // Written next to the target and renamed: a failed run never leaves half a file.
        string tmp = output + ".tmp";
        File.WriteAllText(tmp, text, utf8);
        File.Move(tmp, output, overwrite: true);
        return Ok;
    }

    /// <summary>A path relative to the repository with '/', or the file name for a path outside it.</summary>
    private static string DisplayPath(string path)
    {
        string rel = Path.GetRelativePath(RepoRoot, Path.GetFullPath(path));
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel)
            ? Path.GetFileName(path)
            : rel.Replace(Path.DirectorySeparatorChar, '/');
    }
}
