using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

namespace CnnNative.Tests.Packaging;

/// <summary>
/// The NuGet package installs and runs where a user would put it: <c>dotnet pack</c> (what <c>./build.sh pack</c>
/// runs) writes it into a local folder feed, a fresh console project (<c>dotnet new console</c> in a temp dir, a
/// nuget.config with the feed beside the normal one) gets it with <c>dotnet add package</c>, and its Program loads an
/// ONNX 1x1 convolution, runs an <c>InferenceSession</c> and the eager model and compares both with the closed-form
/// result. NUGET_PACKAGES points at an empty folder, so the package comes from the feed just made, never from a
/// stale cache; CNN_NATIVE_LIBRARY and LD_LIBRARY_PATH are cleared, so the native library can only come from the
/// package's runtimes/&lt;rid&gt;/native/ folder.
/// </summary>
public sealed class PackageInstallTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);

    // y[o] = b[o] + sum_c w[o, c] * x[c] at every pixel: small dyadic values, so float arithmetic is exact
    // and the closed form below is the expected output to the last bit (tolerance 1e-5 leaves room anyway).
    private static readonly float[] Weights = [1f, -2f, 0.5f, 0.25f, -1f, 3f]; // [3 out, 2 in, 1, 1]
    private static readonly float[] Bias = [0.5f, -1f, 2f];

    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    [Fact]
    public void Package_from_a_local_feed_runs_an_onnx_model_in_a_fresh_console_project()
    {
        string version = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "VERSION")).Trim();
        string work = Path.Combine(TestPaths.ScratchDir, "package-" + Guid.NewGuid().ToString("N"));
        string feed = Path.Combine(work, "feed"), packages = Path.Combine(work, "packages"), app = Path.Combine(work, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(packages);

        // The package, from the library this test run was built with (no rebuild).
        Run(packages, work, "dotnet", "pack", Path.Combine(TestPaths.RepoRoot, "src/CnnNative/CnnNative.csproj"), "-c", Configuration,
            "--no-build", "-nologo", "-o", feed);
        string nupkg = Path.Combine(feed, $"CnnNative.{version}.nupkg");
        Assert.True(File.Exists(nupkg), $"dotnet pack made no {nupkg}; the feed holds: {string.Join(", ", Directory.GetFiles(feed))}");
        AssertPackageContents(nupkg);

        // A fresh console project that gets CnnNative from the feed.
        Run(packages, work, "dotnet", "new", "console", "-n", "PackageConsumer", "-o", app, "--framework", "net10.0", "--no-restore");
        File.WriteAllText(Path.Combine(app, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="cnnnative-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        Run(packages, app, "dotnet", "add", "package", "CnnNative", "--version", version);
        Assert.True(Directory.Exists(Path.Combine(packages, "cnnnative", version)),
            $"CnnNative {version} was not restored into the isolated NUGET_PACKAGES folder {packages}");
        File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);

        // The model, its input and the closed-form output, for the Program to check against.
        var graph = new CnnNative.Onnx.Proto.GraphProto { Name = "conv1x1" };
        graph.Input.Add(OnnxFiles.Value("x", 1, 2, 3, 3));
        graph.Output.Add(OnnxFiles.Value("y", 1, 3, 3, 3));
        graph.Initializer.Add(OnnxFiles.Floats("w", [3, 2, 1, 1], Weights));
        graph.Initializer.Add(OnnxFiles.Floats("b", [3], Bias));
        graph.Node.Add(OnnxFiles.Node("Conv", "conv", ["x", "w", "b"], ["y"]));
        var proto = new CnnNative.Onnx.Proto.ModelProto { IrVersion = 8, Graph = graph, ProducerName = nameof(PackageInstallTests) };
        proto.OpsetImport.Add(new CnnNative.Onnx.Proto.OperatorSetIdProto { Domain = "", Version = 13 });
        File.WriteAllBytes(Path.Combine(app, "model.onnx"), OnnxFiles.Bytes(proto));

        float[] x = Enumerable.Range(0, 18).Select(i => (i % 7) * 0.5f - 1.5f).ToArray();
        float[] expected = new float[27];
        for (int o = 0; o < 3; o++)
        {
            for (int p = 0; p < 9; p++)
            {
                expected[o * 9 + p] = Bias[o] + Weights[o * 2] * x[p] + Weights[o * 2 + 1] * x[9 + p];
            }
        }

        File.WriteAllLines(Path.Combine(app, "input.txt"), x.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        File.WriteAllLines(Path.Combine(app, "expected.txt"), expected.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

        string stdout = Run(packages, app, "dotnet", "run", "-c", "Release", "--", "model.onnx", "input.txt", "expected.txt");
        Assert.Contains("package consumer: ok", stdout);

        // The native library the app ran with came with the package, into the app's runtimes folder.
        string rid = (OperatingSystem.IsWindows() ? "win-" : "linux-") + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string nativeFile = OperatingSystem.IsWindows() ? "cnnnative.dll" : "libcnnnative.so";
        string copied = Path.Combine(app, "bin", "Release", "net10.0", "runtimes", rid, "native", nativeFile);
        Assert.True(File.Exists(copied), $"the consumer's output has no {copied}");
        Directory.Delete(work, recursive: true);
    }

    private void AssertPackageContents(string nupkg)
    {
        using ZipArchive zip = ZipFile.OpenRead(nupkg);
        string[] entries = [.. zip.Entries.Select(e => e.FullName)];
        output.WriteLine($"{nupkg} ({new FileInfo(nupkg).Length} bytes):\n  " + string.Join("\n  ", entries));
        string nativeEntry = OperatingSystem.IsWindows() ? "runtimes/win-x64/native/cnnnative.dll" : "runtimes/linux-x64/native/libcnnnative.so";
        foreach (string required in new[] { "lib/net10.0/CnnNative.dll", "lib/net10.0/CnnNative.xml", "README.md", "LICENSE", nativeEntry })
        {
            Assert.Contains(required, entries);
        }

        using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        string text = nuspec.ReadToEnd();
        Assert.Contains("<license type=\"expression\">MIT</license>", text);
        Assert.Contains("<readme>README.md</readme>", text);
        Assert.Contains("<dependency id=\"Google.Protobuf\"", text);
    }

    /// <summary>Runs a command with <paramref name="packages"/> as NUGET_PACKAGES; fails the test (with its output) on a non-zero exit.</summary>
    private string Run(string packages, string directory, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NUGET_PACKAGES"] = packages;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment.Remove("CNN_NATIVE_LIBRARY");
        psi.Environment.Remove("LD_LIBRARY_PATH");
        var clock = Stopwatch.StartNew();
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(StepTimeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within {StepTimeout.TotalMinutes} minutes");
        }

        string text = stdout.Result + stderr.Result;
        output.WriteLine($"$ {file} {string.Join(' ', args)}  -> exit {p.ExitCode} in {clock.Elapsed.TotalSeconds:F1} s\n{text}");
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}:\n{text}");
        return stdout.Result;
    }

    /// <summary>
    /// The consumer's Program.cs: public API only, as a package user writes it. Exit 0 only when both the session
    /// and the eager model match the closed-form output within 1e-5.
    /// </summary>
    private const string ConsumerProgram = """
        using System.Globalization;
        using CnnNative;
        using CnnNative.Inference;
        using CnnNative.Onnx;

        // args: model.onnx input.txt expected.txt (one float per line), written by PackageInstallTests.
        float[] Read(string path) => File.ReadAllLines(path).Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        float[] input = Read(args[1]), expected = Read(args[2]);
        int[] shape = [1, 2, 3, 3];
        using OnnxModel model = OnnxModel.Load(args[0]);
        using InferenceSession session = InferenceSession.Create(model, shape);
        var fromSession = new float[expected.Length];
        session.Run(input, fromSession);
        using Tensor x = Tensor.FromArray(input, shape);
        using Tensor y = model.Forward(x);
        float[] eager = y.ToArray();
        double MaxError(float[] actual) => actual.Length != expected.Length
            ? double.PositiveInfinity
            : actual.Zip(expected, (a, e) => Math.Abs((double)a - e)).Max();
        double sessionError = MaxError(fromSession), eagerError = MaxError(eager);
        bool ok = sessionError <= 1e-5 && eagerError <= 1e-5;
        Console.WriteLine($"package consumer: {(ok ? "ok" : "MISMATCH")}: output [{string.Join(",", session.OutputShape)}], " +
                          $"max abs error vs closed form: session {sessionError:G3}, eager {eagerError:G3} (tolerance 1e-5)");
        return ok ? 0 : 1;
        """;
}
