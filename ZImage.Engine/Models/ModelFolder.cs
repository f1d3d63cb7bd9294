namespace ZImage.Engine.Models;

/// <summary>
/// A validated model folder: the manifest parsed, every file it names present with the size the export recorded.
/// Sizes are compared because a copy that stopped early (a truncated .onnx or .onnx.data) otherwise fails much
/// later with an opaque protobuf or external-data error.
/// </summary>
public sealed class ModelFolder
{
    private ModelFolder(string directory, ModelManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    public string Directory { get; }
    public ModelManifest Manifest { get; }

    public string TokenizerPath => Path.Combine(Directory, Manifest.Tokenizer.File);
    public string TextEncoderPath => Path.Combine(Directory, Manifest.TextEncoder.Model);
    public string TransformerPath => Path.Combine(Directory, Manifest.Transformer.Model);
    public string VaeDecoderPath => Path.Combine(Directory, Manifest.VaeDecoder.Model);

    /// <summary>Bytes of weights on disk, per part: what a resident session needs at least.</summary>
    public long PartBytes(ModelManifest.PartSection part) => part.ModelBytes + part.ExternalDataBytes;

    public static ModelFolder Open(string directory)
    {
        var report = Inspect(directory);
        if (!report.IsUsable)
            throw new ModelFolderException(
                $"The model folder {directory} cannot be used: {string.Join("; ", report.Problems)}", report.Problems);
        return new ModelFolder(Path.GetFullPath(directory), report.Manifest!);
    }

    /// <summary>Checks a folder without throwing: what Settings shows as the model's health.</summary>
    public static ModelInspection Inspect(string directory)
    {
        var problems = new List<string>();
        var files = new List<ModelFileStatus>();
        if (string.IsNullOrWhiteSpace(directory) || !System.IO.Directory.Exists(directory))
        {
            problems.Add($"the folder {directory} does not exist");
            return new ModelInspection(directory, null, files, problems);
        }
        var manifestPath = Path.Combine(directory, ModelManifest.ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            problems.Add($"{manifestPath} is missing: this is not a model folder made by tools/export (see docs/model-format.md)");
            return new ModelInspection(directory, null, files, problems);
        }

        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Parse(File.ReadAllText(manifestPath), manifestPath);
        }
        catch (ModelFolderException e)
        {
            problems.AddRange(e.Problems.Select(p => $"{ModelManifest.ManifestFileName}: {p}"));
            return new ModelInspection(directory, null, files, problems);
        }

        void Expect(string relative, long? expectedBytes)
        {
            var path = Path.Combine(directory, relative);
            long? actual = FileLength(path);
            files.Add(new ModelFileStatus(relative, expectedBytes, actual));
            if (actual is null)
                problems.Add($"{path} is missing");
            else if (expectedBytes is not null && actual != expectedBytes)
                problems.Add($"{path} has {actual:N0} bytes but the export wrote {expectedBytes:N0}: the file is truncated or from another export");
        }

        Expect(manifest.Tokenizer.File, null);
        foreach (var part in new[] { manifest.TextEncoder, manifest.Transformer, manifest.VaeDecoder })
        {
            Expect(part.Model, part.ModelBytes);
            Expect(part.ExternalData, part.ExternalDataBytes);
        }
        return new ModelInspection(directory, manifest, files, problems);
    }

    /// <summary>
    /// A file's length in bytes, or null when it is missing. A linked file (a shared text encoder, a VAE variant
    /// beside the same weights: export --reuse-from) counts by its target, since FileInfo of a symbolic link reports
    /// the link's own few bytes; a dangling link is missing.
    /// </summary>
    public static long? FileLength(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null)
            info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        return info is FileInfo { Exists: true } file ? file.Length : null;
    }
}

public sealed record ModelFileStatus(string RelativePath, long? ExpectedBytes, long? ActualBytes);

/// <summary>
/// The engine's low-level check of one folder (manifest parsed, every part's size against it): what <see cref="ModelFolder.Open"/>
/// refuses on and what the catalog's <see cref="ModelEntry"/> builds on. The folder's condition as people see it is
/// <see cref="ModelEntry.State"/> (<see cref="ModelFolderState"/>); the loaded model's is <see cref="ModelState"/>.
/// </summary>
public sealed record ModelInspection(string Directory, ModelManifest? Manifest, IReadOnlyList<ModelFileStatus> Files, IReadOnlyList<string> Problems)
{
    public bool IsUsable => Manifest is not null && Problems.Count == 0;
}
