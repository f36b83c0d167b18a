using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// Pieces shared by the zoo's models: the input check and torchvision's common forward shape
/// "run the children up to the pooling, <c>torch.flatten(x, 1)</c>, run the rest".
/// </summary>
internal static class ModelParts
{
    /// <summary>Throws unless <paramref name="input"/> is [N, <paramref name="channels"/>, H, W].</summary>
    internal static void RequireImages(Tensor input, int channels, string model)
    {
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        if (shape.Length != 4 || shape[1] != channels)
            throw new ArgumentException($"{model} expects input [N, {channels}, H, W], got [{string.Join(", ", shape)}].", nameof(input));
    }

    /// <summary>
    /// Runs <paramref name="model"/>'s children in registration order, flattening to [N, features] right after
    /// the child named <paramref name="flattenAfter"/> (torchvision's <c>torch.flatten(x, 1)</c> after the pooling).
    /// The children are looked up on every call, so a head swapped with <see cref="Module.ReplaceChild"/> is used.
    /// </summary>
    internal static Tensor ForwardChildren(Module model, Tensor input, string flattenAfter)
    {
        var children = model.NamedChildren().ToList();
        int split = children.FindIndex(c => c.Name == flattenAfter) + 1;
        if (split == 0)
            throw new InvalidOperationException($"{model.GetType().Name} has no child named '{flattenAfter}'.");
        using Tensor pooled = Sequential.Run(children.Take(split).Select(c => c.Module), input);
        using Tensor flat = pooled.Reshape(pooled.Shape[0], -1);
        return Sequential.Run(children.Skip(split).Select(c => c.Module), flat);
    }

    /// <summary>The child registered as <paramref name="name"/> (the current one, after any <see cref="Module.ReplaceChild"/>).</summary>
    internal static T Child<T>(Module model, string name) where T : Module =>
        (T)model.NamedChildren().First(c => c.Name == name).Module;
}
