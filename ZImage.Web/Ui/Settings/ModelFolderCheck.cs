using ZImage.Engine.Models;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Ui.Settings;

public sealed record ModelFile(string Name, long Bytes);

/// <param name="Problems">Text keys (settings.health.*) with one argument each, the file (relative to the folder) or folder concerned.</param>
/// <param name="IsSelfTest">The manifest says the weights are random (the committed self-test model): pictures are noise.</param>
public sealed record ModelFolderReport(ModelFolderState State, string? Folder, IReadOnlyList<ModelFile> Files,
    IReadOnlyList<(string TextKey, string Subject)> Problems, bool IsSelfTest = false)
{
    public long TotalBytes => Files.Sum(f => f.Bytes);

    /// <summary>A folder is set but cannot be used: Generate says so instead of letting the job fail.</summary>
    public bool IsUnusable => State is ModelFolderState.Missing or ModelFolderState.Incomplete;

    /// <summary>
    /// The problems in the page's language. Subjects are files inside the folder, except a missing folder's own path,
    /// which only people who manage the studio see.
    /// </summary>
    public IEnumerable<string> ProblemTexts(Localizer l, bool showServerPaths) => Problems.Select(p =>
        p.TextKey == "settings.health.folderMissing" && !showServerPaths ? l["settings.health.Missing"] : l.Format(p.TextKey, p.Subject));
}

/// <summary>
/// The engine's reading of a model folder (<see cref="ModelEntry"/>, from the catalog) in the words Settings and
/// Generate show: each problem as a text key, so every model error is translated.
/// </summary>
public static class ModelFolderCheck
{
    public static ModelFolderReport From(ModelEntry model)
    {
        if (!model.IsSet)
            return new(ModelFolderState.NotSet, null, [], []);
        var files = model.Files.Select(f => new ModelFile(f.Name, f.Bytes)).ToList();
        var problems = model.Problems.Select(p => (TextKey(p.Kind), p.Subject)).ToList();
        return new(model.State, model.Directory, files, problems, model.IsSelfTest);
    }

    /// <summary>Reads an absolute folder now (not the catalog's cached reading).</summary>
    public static ModelFolderReport Run(string? folder) =>
        From(ModelEntry.Read(folder, string.IsNullOrWhiteSpace(folder) ? null : folder));

    public static string TextKey(ModelProblemKind kind) => kind switch
    {
        ModelProblemKind.FolderMissing => "settings.health.folderMissing",
        ModelProblemKind.NoManifest => "settings.health.noManifest",
        ModelProblemKind.BadManifest => "settings.health.badManifest",
        ModelProblemKind.FileMissing => "settings.health.fileMissing",
        ModelProblemKind.EmptyFile => "settings.health.emptyFile",
        _ => "settings.health.engineProblem",
    };
}
