using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Onnx;

/// <summary>A model torch exports (tests/oracle/export_onnx.py): architecture, opset, the example input's shape, classes, seed.</summary>
public sealed record OnnxExportJob(string Arch, int Opset, int[] InputShape, int NumClasses = 10, int Seed = 0)
{
    /// <summary>Records compare arrays by reference; the cache needs the shape's values.</summary>
    public string Key => $"{Arch}|{Opset}|{string.Join(",", InputShape)}|{NumClasses}|{Seed}";
}

/// <summary>An exported file: its path (in the scratch directory; shared by every test that asks for the same job: do not delete),
/// torch's parameter count and the op types of the graph.</summary>
public sealed record OnnxExport(string Path, long ParamCount, string[] OpTypes);

/// <summary>
/// ONNX fixtures: files exported by torch (one python process per batch of jobs; cached for the test run) and
/// ONNX Runtime's outputs for them (<see cref="OnnxRuntimeReference"/>, in-process). If python or torch is missing
/// the export throws with the install command, so the test fails (never skips).
/// </summary>
public static class OnnxFixtures
{
    /// <summary>The tests that export with torch and run ONNX Runtime: one at a time (each export and ORT session is CPU-heavy).</summary>
    public const string Collection = "OnnxReference";

    private static readonly ConcurrentDictionary<string, OnnxExport> s_exports = new();
    private static readonly SemaphoreSlim s_exporting = new(1, 1);

    /// <summary>tests/oracle/export_onnx.py in the repository, else the copy next to the test binaries.</summary>
    public static string ExportScript => Path.Combine(Path.GetDirectoryName(TestPaths.OracleScript)!, "export_onnx.py");

    /// <summary>
    /// The file of <paramref name="job"/>; when it is not exported yet, every job of <paramref name="batch"/> not exported
    /// yet goes with it (one process: torch's import costs seconds, a small export milliseconds).
    /// </summary>
    public static OnnxExport Export(OnnxExportJob job, IEnumerable<OnnxExportJob>? batch = null)
    {
        // A caller may delete its file when done (the zoo coverage rows do: VGG-16 is ~0.5 GB); then it is exported again.
        if (s_exports.TryGetValue(job.Key, out OnnxExport? done) && File.Exists(done.Path))
            return done;
        s_exporting.Wait();
        try
        {
            if (s_exports.TryGetValue(job.Key, out done) && File.Exists(done.Path))
                return done;
            OnnxExportJob[] jobs = [job, .. (batch ?? []).Where(j => j.Key != job.Key && !(s_exports.TryGetValue(j.Key, out OnnxExport? e) && File.Exists(e.Path))).DistinctBy(j => j.Key)];
            string[] paths = jobs.Select(j => TestPaths.NewScratchFile($"{j.Arch}-opset{j.Opset}", ".onnx")).ToArray();
            JsonArray results = RunExport(jobs, paths);
            for (int i = 0; i < jobs.Length; i++)
            {
                JsonNode r = results[i]!;
                if (r["error"] is JsonNode error)
                {
                    if (i == 0)
                        throw new InvalidOperationException($"torch.onnx.export of {jobs[0]} failed: {error}");
                    continue; // another test of the batch reports it when it asks
                }

                s_exports[jobs[i].Key] = new OnnxExport(paths[i], r["param_count"]!.GetValue<long>(),
                    r["op_types"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray());
            }

            return s_exports[job.Key];
        }
        finally
        {
            s_exporting.Release();
        }
    }

    private static JsonArray RunExport(OnnxExportJob[] jobs, string[] paths)
    {
        string python = PythonTools.Interpreter;
        string request = JsonSerializer.Serialize(jobs.Select((j, i) => new
        {
            arch = j.Arch, opset = j.Opset, path = paths[i], input_shape = j.InputShape, num_classes = j.NumClasses, seed = j.Seed,
        }));
        var psi = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ExportScript);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot start {python}: {e.Message}; install: {PythonTools.InstallHint}", e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(request);
            process.StandardInput.Close();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{python} {ExportScript} exited with {process.ExitCode} (install: {PythonTools.InstallHint}):\n{stderr.Result}");
            }

            return JsonNode.Parse(stdout.Result)!.AsArray();
        }
    }

    /// <summary>ONNX Runtime's outputs of the file at <paramref name="path"/> on <paramref name="inputs"/>, by output name.</summary>
    public static IReadOnlyDictionary<string, OracleTensor> OrtRun(string path, params (string Name, Tensor Value)[] inputs) =>
        OnnxRuntimeReference.Run(path, inputs.Select(i => new OnnxRuntimeReference.NamedArray(i.Name, i.Value.ToArray(), i.Value.Shape)).ToArray())
            .ToDictionary(o => o.Name, o => new OracleTensor(o.Name, o.Data, o.Shape));

    /// <summary>ONNX Runtime's single output of a one-input model.</summary>
    public static OracleTensor OrtOutput(string path, string inputName, Tensor x) => OrtRun(path, (inputName, x)).Values.Single();
}

/// <summary>The collection of <see cref="OnnxFixtures.Collection"/> (no shared fixture: exports are cached per run).</summary>
[CollectionDefinition(OnnxFixtures.Collection)]
public sealed class OnnxReferenceCollection;
