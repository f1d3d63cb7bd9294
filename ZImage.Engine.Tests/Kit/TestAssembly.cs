namespace ZImage.Testing;

/// <summary>This test assembly's name, for xunit attributes in kit files the web tests link too.</summary>
internal static class TestAssembly
{
    public const string Name = "ZImage.Engine.Tests";
}
