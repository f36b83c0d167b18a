namespace CnnNative.Nn;

/// <summary>
/// A residual connection: <c>after(main(x) + shortcut(x))</c>, with the identity as the default shortcut
/// and the activation fused into the native add. A ResNet basic block is
/// <c>new Residual(new Sequential { conv, bn(+relu), conv, bn }, downsample, Activation.Relu)</c>.
/// Children: <c>main</c> and (if given) <c>shortcut</c>.
/// </summary>
public sealed class Residual : Module
{
    /// <summary>Creates the block; it owns (disposes) <paramref name="main"/> and <paramref name="shortcut"/>.</summary>
    /// <param name="main">The main path; its output must have the shape of the shortcut's.</param>
    /// <param name="shortcut">The projection shortcut (e.g. 1x1 conv + BN), or null for the identity.</param>
    /// <param name="after">Activation applied to the sum (ReLU by default, as in ResNet).</param>
    public Residual(Module main, Module? shortcut = null, Activation after = Activation.Relu)
    {
        ArgumentNullException.ThrowIfNull(main);
        if (!Enum.IsDefined(after))
            throw new ArgumentOutOfRangeException(nameof(after), after, "Unknown activation.");
        Main = RegisterModule("main", main);
        if (shortcut is not null)
            Shortcut = RegisterModule("shortcut", shortcut);
        After = after;
    }

    /// <summary>The main path.</summary>
    public Module Main { get; }

    /// <summary>The shortcut path, or null for the identity.</summary>
    public Module? Shortcut { get; }

    /// <summary>Activation applied to the sum.</summary>
    public Activation After { get; set; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        return AddResidual(Main.Forward(input), Shortcut, input, After);
    }

    /// <summary>
    /// <c>after(mainOut + (shortcut ?? identity)(input))</c>; takes ownership of <paramref name="mainOut"/> (disposes
    /// it) and never disposes <paramref name="input"/>.
    /// </summary>
    internal static Tensor AddResidual(Tensor mainOut, Module? shortcut, Tensor input, Activation after)
    {
        Tensor? side = null;
        try
        {
            side = shortcut?.Forward(input);
            Tensor other = side ?? input;
            if (!mainOut.HasShape(other.Dims))
                throw new ArgumentException(
                    $"Residual: the main path gives shape {Tensor.FormatShape(mainOut.Dims)} but the shortcut gives {Tensor.FormatShape(other.Dims)}; they must match.");
            // In place into the main path's output when it has storage of its own (the native add may alias),
            // unless autograd records the add (the main path's nodes may have saved that storage).
            bool recording = Autograd.IsEnabled && (mainOut.RequiresGrad || other.RequiresGrad);
            if (!recording && !mainOut.SharesStorageWith(input) && (side is null || !mainOut.SharesStorageWith(side)))
            {
                Functional.Add(mainOut, other, after, mainOut);
                var result = mainOut;
                mainOut = null!;
                return result;
            }
            return Functional.Add(mainOut, other, after);
        }
        finally
        {
            side?.Dispose();
            mainOut?.Dispose();
        }
    }
}
