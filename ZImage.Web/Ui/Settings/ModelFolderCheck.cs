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
/// <param name="IsSelfTest">The manifest says the weights are random (the committed self-test model): pictures are noise.</param>
public sealed record ModelFolderReport(ModelFolderState State, string? Folder, IReadOnlyList<ModelFile> Files,
    IReadOnlyList<(string TextKey, string Subject)> Problems, bool IsSelfTest = false)
{
    public long TotalBytes => Files.Sum(f => f.Bytes);
}

/// <summary>
/// What a person can check without loading anything, against the model folder format (docs/model-format.md):
/// the manifest, the tokenizer and the three graphs with their weight files. Loading the sessions is the
/// engine's job and reports through the status bar.
/// </summary>
public static class ModelFolderCheck
{
    public const string ManifestName = "zimage.json";
    public const string ManifestFormat = "zimage-onnx";

    private static readonly string[] RequiredFiles =
    [
        "tokenizer/tokenizer.json",
        "text_encoder/model.onnx", "text_encoder/model.onnx.data",
        "transformer/model.onnx", "transformer/model.onnx.data",
        "vae_decoder/model.onnx", "vae_decoder/model.onnx.data",
    ];

    public static ModelFolderReport Run(string? folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
            return new(ModelFolderState.NotSet, null, [], []);
        if (!Directory.Exists(folder))
            return new(ModelFolderState.Missing, folder, [], [("settings.health.folderMissing", folder)]);

        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => new ModelFile(Path.GetRelativePath(folder, f).Replace('\\', '/'), new FileInfo(f).Length))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var problems = new List<(string, string)>();
        var isSelfTest = false;
        var manifest = Path.Combine(folder, ManifestName);
        if (!File.Exists(manifest))
        {
            // The export tool writes the manifest last: without it the export did not finish.
            problems.Add(("settings.health.noManifest", ManifestName));
        }
        else
        {
            try
            {
                using var stream = File.OpenRead(manifest);
                using var doc = JsonDocument.Parse(stream);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.GetString() != ManifestFormat)
                    problems.Add(("settings.health.badManifest", ManifestName));
                isSelfTest = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("random_weights", out var random) && random.ValueKind == JsonValueKind.True;
            }
            catch (JsonException)
            {
                problems.Add(("settings.health.badManifest", ManifestName));
            }
        }
        foreach (var required in RequiredFiles)
        {
            var file = files.FirstOrDefault(f => f.Name == required);
            if (file is null)
                problems.Add(("settings.health.fileMissing", required));
            else if (file.Bytes == 0)
                problems.Add(("settings.health.emptyFile", required));
        }
        // Every file is there: the engine's own check (manifest numbers, sizes the export recorded) has the last word,
        // so a truncated copy or a folder of another architecture shows here rather than at the first generation.
        if (problems.Count == 0)
            foreach (var problem in ZImage.Engine.Models.ModelFolder.Inspect(folder).Problems)
                problems.Add(("settings.health.engineProblem", problem));
        return new(problems.Count == 0 ? ModelFolderState.Ready : ModelFolderState.Incomplete, folder, files, problems, isSelfTest);
    }
}
