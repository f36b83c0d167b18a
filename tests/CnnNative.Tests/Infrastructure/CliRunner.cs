using System.Diagnostics;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Runs the built <c>cnn</c> tool (src/CnnNative.Cli's cnn.dll) as a separate process.</summary>
public static class CliRunner
{
    /// <summary>cnn.dll of the same configuration as the tests (the test project builds it).</summary>
    public static string CnnDll { get; } = Path.Combine(
        TestPaths.RepoRoot, "src", "CnnNative.Cli", "bin",
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0", "cnn.dll");

    /// <summary>Runs <c>cnn ARGS</c> (at most <paramref name="timeout"/>, default 3 minutes), logs it, and returns the exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(ITestOutputHelper output, string[] args, TimeSpan? timeout = null)
    {
        Assert.True(File.Exists(CnnDll), $"{CnnDll} is missing: build src/CnnNative.Cli (the test project builds it)");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CnnDll);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromMinutes(3);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"cnn {string.Join(' ', args)} did not finish within {limit.TotalSeconds:F0} s");
        }

        output.WriteLine($"$ cnn {string.Join(' ', args)}  -> exit {p.ExitCode}\n{stdout.Result}{stderr.Result}");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
