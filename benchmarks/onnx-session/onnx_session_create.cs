#:project ../../src/CnnNative/CnnNative.csproj
#:property PublishAot=false
// Session creation cost of an ONNX file (the issue's acceptance numbers: "session creation time and peak memory for
// resnet50, no worse"). Loads FILE.onnx (OnnxModel.Load), compiles an InferenceSession for [N, C, H, W], runs it once;
// prints wall and process CPU time (all threads; on a shared machine the CPU time is the comparable number), the
// process's peak RSS (VmHWM) after each stage and the native bytes the session holds.
// usage: CNN_NATIVE_LIBRARY=artifacts/native/linux-x64/libcnnnative.so dotnet run onnx_session_create.cs -- FILE.onnx N,C,H,W
using System.Diagnostics;
using CnnNative;
using CnnNative.Inference;
using CnnNative.Onnx;

static long PeakRssKiB() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:"))
    .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

static double CpuMs() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

int[] shape = args[1].Split(',').Select(int.Parse).ToArray();
Console.WriteLine($"start: peak RSS {PeakRssKiB() / 1024.0:F0} MiB");
var watch = Stopwatch.StartNew();
double cpu = CpuMs();
using OnnxModel model = OnnxModel.Load(args[0]);
Console.WriteLine($"load: {watch.Elapsed.TotalMilliseconds:F0} ms wall, {CpuMs() - cpu:F0} ms CPU, peak RSS {PeakRssKiB() / 1024.0:F0} MiB");
watch.Restart();
cpu = CpuMs();
long live = Cnn.MemoryStats().LiveBytes;
using InferenceSession session = InferenceSession.Create(model, shape);
Console.WriteLine($"create: {watch.Elapsed.TotalMilliseconds:F0} ms wall, {CpuMs() - cpu:F0} ms CPU, peak RSS {PeakRssKiB() / 1024.0:F0} MiB, session holds " +
                  $"{(Cnn.MemoryStats().LiveBytes - live) / 1048576.0:F1} MiB native (weights {session.WeightBytes / 1048576.0:F1}, arena {session.ArenaBytes / 1048576.0:F1})");
using Tensor x = Tensor.Randn(1, shape);
using Tensor y = Tensor.Zeros(session.OutputShape);
watch.Restart();
cpu = CpuMs();
session.Run(x, y);
Console.WriteLine($"first run: {watch.Elapsed.TotalMilliseconds:F0} ms wall, {CpuMs() - cpu:F0} ms CPU, peak RSS {PeakRssKiB() / 1024.0:F0} MiB");
