namespace ZImage.Engine.Models.Install.Hub;

/// <summary>
/// Which files of the official diffusers checkpoint the converter reads: the pipeline index and the five component
/// folders. The rest (README, sample images under assets/, .gitattributes) is never downloaded.
/// </summary>
public static class CheckpointFiles
{
    public const string PipelineIndex = "model_index.json";

    public static readonly IReadOnlyList<string> ComponentFolders = ["transformer", "text_encoder", "vae", "tokenizer", "scheduler"];

    public static bool IsNeeded(string path) =>
        path == PipelineIndex || ComponentFolders.Any(folder => path.StartsWith(folder + "/", StringComparison.Ordinal));

    /// <summary>
    /// A listing path is used as a local path, so it must stay inside the checkpoint folder whatever the server sends:
    /// relative, forward slashes, no empty, "." or ".." segment.
    /// </summary>
    public static bool IsSafeRelativePath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains(':') && !path.Contains('\0')
        && path.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");
}
