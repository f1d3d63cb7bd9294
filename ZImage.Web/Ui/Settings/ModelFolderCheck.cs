using System.Text.Json;

namespace ZImage.Web.Ui.Settings;

public enum ModelFolderState
{
    NotSet,
    Missing,
    Incomplete,
    Ready,
}

public sealed record ModelFile(string Name, long Bytes);

/// <param name="Problems">Text keys (settings.health.*) with one argument each, the file or folder concerned.</param>
public sealed record ModelFolderReport(ModelFolderState State, string? Folder, IReadOnlyList<ModelFile> Files, IReadOnlyList<(string TextKey, string Subject)> Problems)
{
    public long TotalBytes => Files.Sum(f => f.Bytes);
}

/// <summary>
/// What a person can check without loading anything: the folder exists, it has ONNX graphs, a tokenizer and a
/// manifest that parses. Loading the sessions is the engine's job and reports through the status bar.
/// </summary>
public static class ModelFolderCheck
{
    public const string ManifestName = "manifest.json";

    public static ModelFolderReport Run(string? folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
            return new(ModelFolderState.NotSet, null, [], []);
        if (!Directory.Exists(folder))
            return new(ModelFolderState.Missing, folder, [], [("settings.health.folderMissing", folder)]);

        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => new ModelFile(Path.GetRelativePath(folder, f), new FileInfo(f).Length))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var problems = new List<(string, string)>();
        if (!files.Any(f => f.Name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)))
            problems.Add(("settings.health.noOnnx", folder));
        if (!files.Any(f => Path.GetFileName(f.Name) == "tokenizer.json"))
            problems.Add(("settings.health.noTokenizer", "tokenizer.json"));
        var manifest = Path.Combine(folder, ManifestName);
        if (!File.Exists(manifest))
        {
            problems.Add(("settings.health.noManifest", ManifestName));
        }
        else
        {
            try
            {
                using var stream = File.OpenRead(manifest);
                using var _ = JsonDocument.Parse(stream);
            }
            catch (JsonException)
            {
                problems.Add(("settings.health.badManifest", ManifestName));
            }
        }
        foreach (var empty in files.Where(f => f.Bytes == 0))
            problems.Add(("settings.health.emptyFile", empty.Name));
        return new(problems.Count == 0 ? ModelFolderState.Ready : ModelFolderState.Incomplete, folder, files, problems);
    }
}
