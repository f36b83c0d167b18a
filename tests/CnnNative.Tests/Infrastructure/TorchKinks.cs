using TorchSharp;
using TorchSharp.Modules;
using TModule = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// How far a torch forward pass stays from the kinks of its piecewise-linear ops (the Python oracle's kink_margin): the
/// smallest distance of any ReLU input from 0, of any ReLU6 / Hardtanh input from its two bounds, and the smallest gap
/// between the two largest (unequal) values of any max-pool window whose maximum is positive. CnnNative's float32
/// forward differs from torch's float64 one by its rounding; where that exceeds the margin it may take the other side
/// of a kink, which changes a gradient element by O(1), so a gradient comparison is only meaningful when the margin is
/// well above the rounding.
/// </summary>
public static class TorchKinks
{
    /// <summary>
    /// Runs <paramref name="forward"/> with hooks on <paramref name="model"/>'s ReLU, ReLU6, Hardtanh and MaxPool2d modules;
    /// returns its result, the margin and the number of module calls measured (Sites: 0 would mean no hook ran).
    /// </summary>
    public static (TT Output, TT Loss, double Margin, int Sites) Measure(torch.nn.Module model, Func<(TT Output, TT Loss)> forward)
    {
        var margins = new List<double>();
        int sites = 0;
        var removers = new List<Action>();
        foreach (var (_, m) in model.named_modules())
        {
            Func<TT, double?>? margin = m switch
            {
                ReLU => v => v.abs().min().item<double>(),
                ReLU6 => v => Bounds(v, 0, 6),
                Hardtanh h => v => Bounds(v, h.min_val, h.max_val),
                MaxPool2d p => v => PoolGap(v, p),
                _ => null,
            };
            if (margin != null && m is TModule hooked)
            {
                var handle = hooked.register_forward_pre_hook((_, input) =>
                {
                    using var scope = torch.NewDisposeScope();
                    using var noGrad = torch.no_grad();
                    sites++;
                    if (margin(input.detach()) is double d)
                    {
                        margins.Add(d);
                    }

                    return input;
                });
                removers.Add(handle.remove);
            }
        }

        try
        {
            var (output, loss) = forward();
            return (output, loss, margins.Count > 0 ? margins.Min() : double.PositiveInfinity, sites);
        }
        finally
        {
            removers.ForEach(r => r());
        }
    }

    private static double Bounds(TT v, double low, double high) => torch.minimum((v - low).abs(), (v - high).abs()).min().item<double>();

    /// <summary>
    /// The smallest gap between the two largest values of a window with a positive maximum; an exact tie is two copies of
    /// one value (overlapping windows) and routes the gradient to the same element either way, so it does not count.
    /// </summary>
    private static double? PoolGap(TT x, MaxPool2d pool)
    {
        long[] k = Pair(pool.kernel_size), s = Pair(pool.stride ?? pool.kernel_size), p = Pair(pool.padding ?? [0]);
        if (Pair(pool.dilation ?? [1]).Any(d => d != 1))
        {
            throw new NotSupportedException("kink margin: dilated max pools are not supported");
        }

        // Pad with -inf like torch, plus the extra bottom / right windows of ceil mode (but none starting in the padding).
        var extra = new long[2];
        for (int d = 0; d < 2; d++)
        {
            long size = x.shape[2 + d];
            long outSize = ((size + (2 * p[d]) - k[d] + (pool.ceil_mode ? s[d] - 1 : 0)) / s[d]) + 1;
            if (pool.ceil_mode && (outSize - 1) * s[d] >= size + p[d])
            {
                outSize--;
            }

            extra[d] = Math.Max(0, ((outSize - 1) * s[d]) + k[d] - (size + (2 * p[d])));
        }

        TT padded = torch.nn.functional.pad(x, [p[1], p[1] + extra[1], p[0], p[0] + extra[0]], value: double.NegativeInfinity);
        TT windows = padded.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).flatten(-2);
        TT top = windows.topk(2, dim: -1).values;
        TT gap = top[.., .., .., .., 0] - top[.., .., .., .., 1];
        TT counted = (top[.., .., .., .., 0] > 0) & (gap != 0);
        return counted.any().item<bool>() ? gap[counted].min().item<double>() : null;
    }

    private static long[] Pair(long[] v) => v.Length == 1 ? [v[0], v[0]] : v;
}
