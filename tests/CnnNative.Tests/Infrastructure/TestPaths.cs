using System.Reflection;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Where the repository, the oracle script and artifacts/ are.</summary>
internal static class TestPaths
{
    private const string OracleRelative = "tests/oracle/torch_oracle.py";

    /// <summary>The repository root (the directory holding build.sh, native/, tests/).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>tests/oracle/torch_oracle.py in the repository, else the copy next to the test binaries.</summary>
    public static string OracleScript
    {
        get
        {
            string inRepo = Path.Combine(RepoRoot, OracleRelative);
            if (File.Exists(inRepo))
            {
                return inRepo;
            }

            return Path.Combine(AppContext.BaseDirectory, "oracle", "torch_oracle.py");
        }
    }

    /// <summary>artifacts/ at the repository root (created on demand).</summary>
    public static string ArtifactsDir
    {
        get
        {
            string dir = Path.Combine(RepoRoot, "artifacts");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>A fresh scratch directory for this test run (under the system temp directory).</summary>
    public static string ScratchDir { get; } = CreateScratch();

    /// <summary>A new, not yet existing file path in <see cref="ScratchDir"/>.</summary>
    public static string NewScratchFile(string stem, string extension) =>
        Path.Combine(ScratchDir, $"{stem}-{Guid.NewGuid():N}{extension}");

    private static string CreateScratch()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"cnnnative-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return dir;
    }

    private static string FindRepoRoot()
    {
        var candidates = new List<string>();
        string? fromBuild = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CnnNativeRepoRoot")?.Value;
        if (!string.IsNullOrEmpty(fromBuild))
        {
            candidates.Add(fromBuild);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            candidates.Add(dir.FullName);
        }

        foreach (string c in candidates)
        {
            if (File.Exists(Path.Combine(c, OracleRelative)) && File.Exists(Path.Combine(c, "native", "include", "cnn", "cnn.h")))
            {
                return Path.GetFullPath(c);
            }
        }

        // Not inside the repository: fall back to the build-time path (tests needing the repo fail clearly).
        return fromBuild ?? AppContext.BaseDirectory;
    }
}
