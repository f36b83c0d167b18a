using System.Diagnostics;
using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Inference;

/// <summary>
/// <see cref="InferenceSession"/> against the uncompiled model's <c>Forward</c> (the same kernels, so the only
/// differences are batch norm folding and fused epilogues): LeNet-5, CnnBn, ResNet-18 and ResNet-50 with random
/// batch norm state; plan shape, weight copying, concurrency and the rejected models and inputs.
/// </summary>
public sealed class InferenceSessionTests(ITestOutputHelper output)
{
    public static TheoryData<string, CnnIsa> Rows()
    {
        var data = new TheoryData<string, CnnIsa>();
        foreach (string name in SessionTestModels.Names)
        {
            foreach (CnnIsa isa in Isas.Tested)
            {
                // The reference kernels are too slow for the ResNets at any useful size; they run LeNet-5 and CnnBn.
                if (isa != CnnIsa.Reference || !name.StartsWith("resnet", StringComparison.Ordinal))
                {
                    data.Add(name, isa);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Session_matches_the_models_forward(string name, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        (Module model, int[] shape) = SessionTestModels.Build(name);
        using (model)
        using (Tensor x = TestData.NormalTensor(Seeds.Of(name + "-x"), shape))
        {
            float[] expected = SessionTestModels.Forward(model, x);
            var watch = Stopwatch.StartNew();
            using InferenceSession session = InferenceSession.Create(model, shape);
            watch.Stop();
            float[] actual = SessionTestModels.Run(session, x);

            output.WriteLine($"{session} [{isa}], compiled in {watch.Elapsed.TotalMilliseconds:0} ms");
            output.WriteLine("steps: " + string.Join(", ", session.Steps));
            SessionTestModels.AssertClose(output, $"{name} [{isa}]", expected, actual);
            Assert.Equal(isa, session.Isa);
            Assert.Equal(shape, session.InputShape);
            Assert.Equal(expected.Length, session.OutputShape.Aggregate(1, (a, d) => a * d));
            Assert.True(session.ArenaBytes < session.IntermediateBytes, "the arena reuses no memory");

            // Every batch norm was folded and every activation fused: what is left is the convolutions, the pools,
            // the residual adds and the linear layers.
            Assert.DoesNotContain(session.Steps, s => s.StartsWith("Functional.BatchNorm2d", StringComparison.Ordinal));
            Assert.DoesNotContain("Functional.Relu", session.Steps);
            Assert.Equal(ExpectedSteps(name), session.Steps.Count);

            // The tensor overload gives the same bits.
            using Tensor y = Tensor.Zeros(session.OutputShape);
            session.Run(x, y);
            Assert.Equal(actual, y.ToArray());
        }
    }

    /// <summary>Steps after folding and fusion, counted from the architectures.</summary>
    private static int ExpectedSteps(string name) => name switch
    {
        "lenet5" => 2 + 2 + 3, // conv+relu, pool, twice; three linear layers (+relu)
        "cnnbn" => 4 + 2 + 1, // 4 conv(+bn+relu), 2 pools, linear
        "resnet18" => 1 + 1 + (8 * 3) + 3 + 1 + 1, // stem conv, maxpool, 8 blocks of conv/conv/add, 3 downsamples, pool, fc
        "resnet50" => 1 + 1 + (16 * 4) + 4 + 1 + 1, // 16 bottlenecks of 3 convs + add, 4 downsamples
        _ => throw new ArgumentException(name),
    };

    [Fact]
    public void Unoptimized_session_matches_too_and_keeps_every_op()
    {
        (Module model, int[] shape) = SessionTestModels.Build("cnnbn");
        using (model)
        using (Tensor x = TestData.NormalTensor(7, shape))
        {
            float[] expected = SessionTestModels.Forward(model, x);
            var options = new InferenceSessionOptions { FoldBatchNorm = false, FuseActivations = false };
            using InferenceSession session = InferenceSession.Create(model, shape, options);
            output.WriteLine(session.ToString());
            Assert.Equal(4 * 3 + 2 + 1, session.Steps.Count); // conv, bn, relu each
            Assert.Equal(expected, SessionTestModels.Run(session, x)); // the same kernels in the same order: the same bits
        }
    }

    [Fact]
    public void Weights_are_copied_at_creation()
    {
        (Module model, int[] shape) = SessionTestModels.Build("lenet5");
        using (model)
        using (Tensor x = TestData.NormalTensor(8, shape))
        {
            using InferenceSession session = InferenceSession.Create(model, shape);
            float[] before = SessionTestModels.Run(session, x);
            foreach (Tensor p in model.Parameters())
            {
                using IDisposable _ = Autograd.NoGrad();
                p.CopyFrom(new float[p.Length]);
            }

            Assert.NotEqual(before, SessionTestModels.Forward(model, x)); // the module did change
            Assert.Equal(before, SessionTestModels.Run(session, x));
        }
    }

    [Fact]
    public void Create_restores_training_mode()
    {
        (Module model, int[] shape) = SessionTestModels.Build("cnnbn");
        using (model)
        {
            model.Train();
            using InferenceSession session = InferenceSession.Create(model, shape);
            Assert.True(model.Training);
            Assert.All(model.NamedModules(), m => Assert.True(m.Module.Training));
        }
    }

    [Fact]
    public void Concurrent_runs_give_the_single_threaded_bits()
    {
        const int Threads = 4, RunsPerThread = 40, Inputs = 8;
        (Module model, int[] shape) = SessionTestModels.Build("resnet18");
        shape = [1, 3, 32, 32];
        using (model)
        {
            using InferenceSession session = InferenceSession.Create(model, shape, new InferenceSessionOptions { NumThreads = 1 });
            var inputs = Enumerable.Range(0, Inputs).Select(i => TestData.Normal(100 + i, 3 * 32 * 32)).ToArray();
            var expected = inputs.Select(x =>
            {
                var y = new float[10];
                session.Run(x, y);
                return y;
            }).ToArray();

            int mismatches = 0;
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                var y = new float[10];
                for (int r = 0; r < RunsPerThread; r++)
                {
                    int i = ((t * 7) + r) % Inputs;
                    session.Run(inputs[i], y);
                    if (!y.AsSpan().SequenceEqual(expected[i]))
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                }
            })).ToList();
            var watch = Stopwatch.StartNew();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            output.WriteLine($"{Threads} threads x {RunsPerThread} runs of ResNet-18 1x3x32x32 in {watch.Elapsed.TotalMilliseconds:0} ms, {mismatches} mismatches");
            Assert.Equal(0, mismatches);
        }
    }

    [Fact]
    public void Callers_beyond_MaxConcurrency_wait_for_a_context()
    {
        (Module model, int[] shape) = SessionTestModels.Build("lenet5");
        using (model)
        using (Tensor x = TestData.NormalTensor(9, shape))
        {
            using InferenceSession session = InferenceSession.Create(model, shape, new InferenceSessionOptions { MaxConcurrency = 1 });
            float[] expected = SessionTestModels.Run(session, x);
            float[] input = x.ToArray();
            int mismatches = 0;
            Parallel.For(0, 3, new ParallelOptions { MaxDegreeOfParallelism = 3 }, _ =>
            {
                var y = new float[expected.Length];
                for (int r = 0; r < 50; r++)
                {
                    session.Run(input, y);
                    if (!y.AsSpan().SequenceEqual(expected))
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                }
            });
            Assert.Equal(0, mismatches);
        }
    }

    [Fact]
    public void Wrong_inputs_and_outputs_are_argument_exceptions_naming_them()
    {
        (Module model, int[] shape) = SessionTestModels.Build("lenet5");
        using (model)
        {
            using InferenceSession session = InferenceSession.Create(model, shape);
            var x = new float[2 * 28 * 28];
            var y = new float[2 * 10];
            Assert.Equal("input", Assert.Throws<ArgumentException>(() => session.Run(new float[28 * 28], y)).ParamName);
            Assert.Equal("output", Assert.Throws<ArgumentException>(() => session.Run(x, new float[10])).ParamName);
            var both = new float[(2 * 28 * 28) + 20];
            Assert.Equal("output", Assert.Throws<ArgumentException>(() => session.Run(both.AsSpan(0, 2 * 28 * 28), both.AsSpan(2 * 28 * 28 - 10, 20))).ParamName);

            using Tensor wrong = Tensor.Zeros(1, 2, 28, 28); // right length, wrong shape
            using Tensor right = Tensor.Zeros(2, 1, 28, 28);
            using Tensor logits = Tensor.Zeros(2, 10);
            ArgumentException e = Assert.Throws<ArgumentException>(() => session.Run(wrong, logits));
            Assert.Equal("input", e.ParamName);
            Assert.Contains("[2, 1, 28, 28]", e.Message);
            Assert.Equal("output", Assert.Throws<ArgumentException>(() => session.Run(right, Tensor.Zeros(20))).ParamName);

            Assert.Throws<ArgumentException>(() => InferenceSession.Create(model, [2, 1, 0, 28]));
            Assert.ThrowsAny<ArgumentException>(() => InferenceSession.Create(model, [2, 3, 28, 28])); // the model rejects 3 channels
            session.Dispose();
            Assert.Throws<ObjectDisposedException>(() => session.Run(x, y));
        }
    }

    [Fact]
    public void Batch_norm_with_batch_statistics_is_not_supported()
    {
        using var model = new Sequential { new Conv2d(1, 4, 3), new BatchNorm2d(4, trackRunningStats: false) };
        var e = Assert.Throws<NotSupportedException>(() => InferenceSession.Create(model, [1, 1, 8, 8]));
        Assert.Contains("Functional.BatchNorm2dTraining", e.Message);
    }

    [Fact]
    public void Element_access_in_forward_is_not_supported()
    {
        using var model = new Lambda(x =>
        {
            Tensor y = Functional.Relu(x);
            return y.AsSpan()[0] > 0 ? Functional.Sigmoid(y) : Functional.Tanh(y);
        });
        var e = Assert.Throws<NotSupportedException>(() => InferenceSession.Create(model, [1, 4]));
        Assert.Contains("Tensor.AsSpan", e.Message);
    }

    [Fact]
    public void Tensors_created_in_forward_are_not_supported()
    {
        using var model = new Lambda(x =>
        {
            using Tensor bias = Tensor.Full(1f, x.Shape);
            return Functional.Add(x, Functional.Relu(bias));
        });
        var e = Assert.Throws<NotSupportedException>(() => InferenceSession.Create(model, [1, 4]));
        Assert.Contains("Functional.Relu", e.Message);
    }

    [Fact]
    public void Ops_run_on_another_thread_are_not_taken_for_constants()
    {
        using var model = new Lambda(x =>
        {
            Tensor? elsewhere = null;
            var thread = new Thread(() => elsewhere = Functional.Relu(x)); // not traced: the recorder is per thread
            thread.Start();
            thread.Join();
            using (elsewhere)
            {
                return Functional.Add(x, elsewhere!);
            }
        });
        var e = Assert.Throws<NotSupportedException>(() => InferenceSession.Create(model, [1, 4]));
        Assert.Contains("Functional.Add", e.Message);
    }

    [Fact]
    public void Constant_operands_made_before_the_trace_are_copied_into_the_session()
    {
        // An imported graph's constants (e.g. ONNX Add with an initializer) are plain tensors the model holds.
        using Tensor offset = TestData.NormalTensor(31, 1, 2, 3, 3);
        using Tensor extra = TestData.NormalTensor(32, 1, 1, 3, 3);
        using var model = new Lambda(x =>
        {
            using Tensor sum = Functional.Add(x, offset, Activation.Relu);
            return Functional.Concat([sum, extra], 1);
        });
        using Tensor input = TestData.NormalTensor(33, 1, 2, 3, 3);
        float[] expected = SessionTestModels.Forward(model, input);
        using InferenceSession session = InferenceSession.Create(model, [1, 2, 3, 3]);
        Assert.Equal(expected, SessionTestModels.Run(session, input));
        Assert.Equal([1, 3, 3, 3], session.OutputShape);

        offset.CopyFrom(new float[offset.Length]); // the session keeps its copy
        Assert.Equal(expected, SessionTestModels.Run(session, input));
    }

    /// <summary>A module around a delegate, for models the tracer must reject.</summary>
    private sealed class Lambda(Func<Tensor, Tensor> forward) : Module
    {
        public override Tensor Forward(Tensor input) => forward(input);
    }
}
