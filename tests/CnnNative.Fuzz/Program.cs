using System.Diagnostics;
using CnnNative.Fuzz;
using SharpFuzz;

// CnnNative.Fuzz: the harness behind `./build.sh fuzz`.
//   CnnNative.Fuzz <target>                       under afl-fuzz: SharpFuzz's fork server (out of process, so a native
//                                                 crash or a stack overflow is a finding, not the end of the run)
//   CnnNative.Fuzz replay <target> <path>...      every file (directories: recursively) through the same checks,
//                                                 without afl; exit code 1 if any violates an invariant
// Targets: safetensors, onnx, idx, modelcard (see FuzzTargets.cs).
if (args.Length == 0)
{
    Console.Error.WriteLine($"usage: CnnNative.Fuzz <target> | replay <target> <file-or-dir>...   (targets: {string.Join(", ", FuzzTarget.All.Select(t => t.Name))})");
    return 2;
}

if (args[0] == "replay")
{
    if (args.Length < 3)
    {
        Console.Error.WriteLine("usage: CnnNative.Fuzz replay <target> <file-or-dir>...");
        return 2;
    }

    FuzzTarget target = FuzzTarget.Find(args[1]);
    SingleThreaded();
    var files = args.Skip(2)
        .SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p])
        .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .ToList();
    int failed = 0;
    var clock = Stopwatch.StartNew();
    foreach (string file in files)
    {
        try
        {
            Harness.Execute(target, file);
        }
        catch (FuzzInvariantException e)
        {
            failed++;
            Console.WriteLine($"FAIL {file}: {e.Message}");
            if (e.InnerException is { } inner) Console.WriteLine(inner.ToString());
        }
    }

    Console.WriteLine($"replay {target.Name}: {files.Count - failed} passed, {failed} failed ({files.Count} files, {clock.Elapsed.TotalSeconds:F1} s)");
    return failed == 0 && files.Count > 0 ? 0 : 1;
}

// Under afl nothing of an instrumented assembly (CnnNative, cnn, Google.Protobuf) may run before Fuzzer.Run
// installs the coverage map (its module initializer would write to a map that is not there yet): the target
// is looked up inside the first execution.
// The readers take paths: afl's input (a stream) is copied to a file of this process first.
string targetName = args[0];
string inputPath = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"cnnfuzz-{targetName}-{Environment.ProcessId}.bin");
FuzzTarget? fuzzed = null;
Fuzzer.OutOfProcess.Run(stream =>
{
    if (fuzzed is null)
    {
        fuzzed = FuzzTarget.Find(targetName);
        SingleThreaded();
    }

    using (var file = File.Create(inputPath))
    {
        stream.CopyTo(file);
    }

    Harness.Execute(fuzzed, inputPath);
});
return 0;

// One thread: a fuzz execution should be short and deterministic.
static void SingleThreaded() => CnnNative.Cnn.NumThreads = 1;
