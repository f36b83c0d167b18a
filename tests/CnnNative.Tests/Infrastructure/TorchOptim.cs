using TorchSharp;
using TorchSharp.Modules;
using TorchOptimizers = TorchSharp.torch.optim;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The optimizer references: TorchSharp's torch.optim (SGD, Adam, AdamW, RMSprop: ports of PyTorch's single-tensor
/// update rules, run as float64 libtorch tensor ops), its lr_scheduler, and libtorch's clip_grad_norm_, driven the
/// way tests/oracle/torch_oracle.py drove PyTorch's (explicit gradients per step, "no gradient" = grad None).
/// </summary>
public static class TorchOptim
{
    /// <summary>
    /// Runs <paramref name="steps"/> optimizer steps on float64 parameters starting at <paramref name="initial"/>;
    /// before step s, parameter i gets .grad = <paramref name="gradient"/>(i, s), or no gradient (None: torch skips
    /// it and does not advance its step count) where that is null. Returns every parameter's values after every step,
    /// [steps * count] each, as float32.
    /// </summary>
    public static float[][] Steps(
        Func<IEnumerable<Parameter>, TorchOptimizers.Optimizer> make, float[][] initial, int[][] shapes, int steps, Func<int, int, float[]?> gradient)
    {
        Torch.Ensure();
        using var scope = torch.NewDisposeScope();
        Parameter[] parameters = initial.Select((v, i) => new Parameter(Torch.From(v, shapes[i]), requires_grad: true)).ToArray();
        using TorchOptimizers.Optimizer optimizer = make(parameters);
        var history = initial.Select(v => new float[steps * v.Length]).ToArray();
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                float[]? g = gradient(i, s);
                parameters[i].grad = g is null ? null : Torch.From(g, shapes[i]);
            }

            optimizer.step();
            for (int i = 0; i < parameters.Length; i++)
            {
                Torch.ToFloats(parameters[i]).CopyTo(history[i], s * initial[i].Length);
            }
        }

        return history;
    }

    /// <summary>
    /// The learning rate of an SGD optimizer (lr <paramref name="lr"/>) under the scheduler <paramref name="make"/>
    /// builds: before the first epoch, then after each of <paramref name="epochs"/> optimizer.step() + scheduler.step().
    /// </summary>
    public static double[] LearningRates(Func<TorchOptimizers.Optimizer, TorchOptimizers.lr_scheduler.LRScheduler> make, double lr, int epochs)
    {
        Torch.Ensure();
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.zeros(1, dtype: torch.ScalarType.Float64), requires_grad: true);
        using TorchOptimizers.Optimizer sgd = TorchOptimizers.SGD([p], lr);
        TorchOptimizers.lr_scheduler.LRScheduler scheduler = make(sgd);
        var lrs = new List<double> { sgd.ParamGroups.First().LearningRate };
        for (int e = 0; e < epochs; e++)
        {
            sgd.step();
            scheduler.step();
            lrs.Add(sgd.ParamGroups.First().LearningRate);
        }

        return [.. lrs];
    }

    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ (norm 2) over float64 parameters whose gradients are <paramref name="grads"/>:
    /// the total norm and the clipped gradients (float32).
    /// </summary>
    public static (double TotalNorm, float[][] Clipped) ClipGradNorm(float[][] grads, int[][] shapes, double maxNorm)
    {
        Torch.Ensure();
        using var scope = torch.NewDisposeScope();
        Parameter[] parameters = grads.Select((g, i) =>
        {
            var p = new Parameter(torch.zeros(Array.ConvertAll(shapes[i], d => (long)d), dtype: torch.ScalarType.Float64), requires_grad: true);
            p.grad = Torch.From(g, shapes[i]);
            return p;
        }).ToArray();
        double total = torch.nn.utils.clip_grad_norm_(parameters, maxNorm);
        return (total, parameters.Select(p => Torch.ToFloats(p.grad!)).ToArray());
    }
}
