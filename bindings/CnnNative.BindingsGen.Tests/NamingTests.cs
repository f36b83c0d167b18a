namespace CnnNative.BindingsGen.Tests;

/// <summary>The name rules on their own (expected values written from the rules in docs/design.md).</summary>
public sealed class NamingTests
{
    [Theory]
    [InlineData("cnn_conv2d_params", "CnnConv2dParams")]
    [InlineData("INVALID_ARGUMENT", "InvalidArgument")]
    [InlineData("in_channels", "InChannels")]
    [InlineData("2D", "2d")]
    [InlineData("__leading__and__double__", "LeadingAndDouble")]
    [InlineData("mixedCase_x", "MixedCaseX")]
    public void PascalCase(string c, string expected) => Assert.Equal(expected, Naming.PascalCase(c));

    [Theory]
    [InlineData(new[] { "CNN_STATUS_SUCCESS", "CNN_STATUS_INVALID_ARGUMENT" }, new[] { "SUCCESS", "INVALID_ARGUMENT" })]
    [InlineData(new[] { "CNN_DIMS_2D", "CNN_DIMS_3D" }, new[] { "DIMS_2D", "DIMS_3D" })]
    [InlineData(new[] { "CNN_SINGLE_ONLY" }, new[] { "ONLY" })]
    [InlineData(new[] { "A_X", "B_X" }, new[] { "A_X", "B_X" })]
    [InlineData(new[] { "CNN_POOL_MAX", "CNN_POOL_MAX_INDEXED" }, new[] { "MAX", "MAX_INDEXED" })]
    public void Enum_prefix(string[] members, string[] expected) => Assert.Equal(expected, Naming.StripEnumPrefix(members));

    [Theory]
    [InlineData("params", "@params")]
    [InlineData("object", "@object")]
    [InlineData("value", "value")]
    [InlineData("input", "input")]
    public void Keywords_are_escaped(string c, string expected) => Assert.Equal(expected, Naming.EscapeIdentifier(c));
}
