using System.Diagnostics;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>The committed bindings/NativeMethods.g.cs equals a fresh generation from cnn.h.</summary>
public sealed class BindingsTests(ITestOutputHelper output)
{
    /// <summary>Debian's interpreter, which has python3-clang (the generator's libclang bindings).</summary>
    private const string SystemPython = "/usr/bin/python3";

    [Fact]
    public async Task Committed_bindings_match_a_fresh_generation()
    {
        string python = Environment.GetEnvironmentVariable("CNN_ORACLE_PYTHON") is { Length: > 0 } p ? p : SystemPython;
        string script = Path.Combine(TestPaths.RepoRoot, "bindings", "generate_bindings.py");
        Assert.True(File.Exists(script), $"{script} does not exist");
        Assert.True(File.Exists(python), $"{python} does not exist (sudo apt-get install python3 python3-clang-14 libclang-14)");

        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestPaths.RepoRoot,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--check");
        using Process process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("generate_bindings.py --check did not finish within 120 s");
        }

        string text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, $"generate_bindings.py --check exited {process.ExitCode} (1 drift, 2 unmappable header, 3 no libclang):\n{text}");
    }
}
