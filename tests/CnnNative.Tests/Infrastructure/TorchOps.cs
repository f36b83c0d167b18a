using TorchSharp;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The op tests' references as typed libtorch calls (float64 torch tensors in, torch tensors out): the
/// computations tests/oracle/torch_oracle.py and ops_shape.py made, argument for argument. They take torch
/// tensors, so one function serves the forward check and, on leaves that require grad, the gradient check
/// (see <see cref="TorchReference"/>). The caller owns the returned tensors (run them in a dispose scope).
/// </summary>
public static class TorchOps
{
    /// <summary>The activation CnnNative fuses into an op, applied by torch.</summary>
    public static TT Activate(TT x, Activation activation) => activation switch
    {
        Activation.None => x,
        Activation.Relu => F.relu(x),
        Activation.Sigmoid => torch.sigmoid(x),
        Activation.Tanh => torch.tanh(x),
        Activation.Relu6 => F.relu6(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "no torch reference for this activation"),
    };

    /// <summary>
    /// F.pad (left, right, top, bottom) then F.conv2d with padding 0, then the activation: CnnNative's
    /// per-side padding, which F.conv2d's symmetric padding cannot express.
    /// </summary>
    public static TT Conv2d(
        TT x, TT weight, TT? bias, (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding,
        (int H, int W) dilation, int groups, Activation activation)
    {
        TT padded = F.pad(x, [padding.Left, padding.Right, padding.Top, padding.Bottom]);
        TT y = F.conv2d(padded, weight, bias, strides: [stride.H, stride.W], padding: [0, 0], dilation: [dilation.H, dilation.W], groups: groups);
        return Activate(y, activation);
    }

    /// <summary>F.conv1d (symmetric padding) then the activation.</summary>
    public static TT Conv1d(TT x, TT weight, TT? bias, int stride, int padding, int dilation, int groups, Activation activation) =>
        Activate(F.conv1d(x, weight, bias, stride: stride, padding: padding, dilation: dilation, groups: groups), activation);

    /// <summary>F.max_pool2d.</summary>
    public static TT MaxPool2d(TT x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, bool ceilMode) =>
        F.max_pool2d(x, [kernel.H, kernel.W], [stride.H, stride.W], [padding.H, padding.W], [dilation.H, dilation.W], ceilMode);

    /// <summary>F.avg_pool2d.</summary>
    public static TT AvgPool2d(
        TT x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, bool ceilMode, bool countIncludePad, int? divisorOverride) =>
        F.avg_pool2d(x, [kernel.H, kernel.W], [stride.H, stride.W], [padding.H, padding.W], ceilMode, countIncludePad, divisorOverride);

    /// <summary>F.lp_pool2d (no padding: torch's LP pooling has none).</summary>
    public static TT LpPool2d(TT x, double normType, (int H, int W) kernel, (int H, int W) stride, bool ceilMode) =>
        F.lp_pool2d(x, normType, [kernel.H, kernel.W], [stride.H, stride.W], ceilMode);

    /// <summary>F.adaptive_avg_pool2d.</summary>
    public static TT AdaptiveAvgPool2d(TT x, (int H, int W) outputSize) => F.adaptive_avg_pool2d(x, [outputSize.H, outputSize.W]);

    /// <summary>F.batch_norm in eval mode (running statistics as constants), then the activation.</summary>
    public static TT BatchNormEval(TT x, TT runningMean, TT runningVar, TT? weight, TT? bias, double eps, Activation activation) =>
        Activate(F.batch_norm(x, runningMean, runningVar, weight, bias, training: false, eps: eps), activation);

    /// <summary>
    /// F.batch_norm in training mode: batch statistics; the running statistics (if given) are updated in place
    /// with <paramref name="momentum"/> and the unbiased batch variance, as torch does.
    /// </summary>
    public static TT BatchNormTraining(TT x, TT? runningMean, TT? runningVar, TT? weight, TT? bias, double momentum, double eps) =>
        F.batch_norm(x, runningMean, runningVar, weight, bias, training: true, momentum: momentum, eps: eps);

    /// <summary>F.linear then the activation.</summary>
    public static TT Linear(TT x, TT weight, TT? bias, Activation activation) => Activate(F.linear(x, weight, bias), activation);

    /// <summary>a + b then the activation.</summary>
    public static TT Add(TT a, TT b, Activation activation) => Activate(a + b, activation);

    /// <summary>F.softmax along <paramref name="dim"/> (negative counts from the end).</summary>
    public static TT Softmax(TT x, int dim) => F.softmax(x, dim);

    /// <summary>F.log_softmax along <paramref name="dim"/>.</summary>
    public static TT LogSoftmax(TT x, int dim) => F.log_softmax(x, dim);

    /// <summary>torch.clamp with float bounds (infinite bounds allowed).</summary>
    public static TT Clamp(TT x, double min, double max) => torch.clamp(x, min, max);

    /// <summary>
    /// libtorch's hardtanh, through the in-place call on a copy: TorchSharp 0.107's out-of-place Tensor.hardtanh (behind
    /// F.hardtanh) drops libtorch's result and returns its input unchanged.
    /// </summary>
    public static TT Hardtanh(TT x, double min, double max) => x.clone().hardtanh_(min, max);

    /// <summary>torch.cat.</summary>
    public static TT Cat(IList<TT> inputs, int dim) => torch.cat(inputs, dim);

    /// <summary>torch.narrow.</summary>
    public static TT Narrow(TT x, int dim, int start, int length) => x.narrow(dim, start, length);

    /// <summary>x * scale + shift with scale and shift (each optional, a scalar or one value per index of dim) broadcast along <paramref name="dim"/>.</summary>
    public static TT ScaleShift(TT x, int dim, TT? scale, TT? shift)
    {
        int d = dim < 0 ? dim + (int)x.dim() : dim;
        TT AlongDim(TT v)
        {
            long[] view = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
            view[d] = v.numel();
            return v.reshape(view);
        }

        TT y = x;
        if (scale is not null)
        {
            y = y * AlongDim(scale);
        }

        if (shift is not null)
        {
            y = y + AlongDim(shift);
        }

        return y;
    }

    /// <summary>F.cross_entropy (mean over the batch) with label smoothing, as a 1-element tensor.</summary>
    public static TT CrossEntropy(TT logits, int[] labels, double labelSmoothing)
    {
        TT target = torch.tensor(Array.ConvertAll(labels, v => (long)v), dtype: torch.ScalarType.Int64);
        return F.cross_entropy(logits, target, label_smoothing: labelSmoothing).reshape(1);
    }

    /// <summary>F.mse_loss (mean), as a 1-element tensor.</summary>
    public static TT MseLoss(TT prediction, TT target) => F.mse_loss(prediction, target).reshape(1);
}
