namespace ZImage.Engine.Models;

/// <summary>A model folder that cannot be used, with every problem found, each naming the file or key.</summary>
public sealed class ModelFolderException(string message, IReadOnlyList<string> problems) : Exception(message)
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
