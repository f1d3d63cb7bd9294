using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.Settings;

public static class ExecutionProviders
{
    public const string Auto = "Auto";
    public static readonly IReadOnlyList<string> All = [Auto, "CUDA", "TensorRT", "WebGPU", "CPU"];

    /// <summary>
    /// The engine binds ZImage:Engine:Provider case-insensitively (Cpu, cpu and CPU are one choice), so the form must
    /// read it the same way or a hand-written "Cpu" shows as no choice at all. Unknown values are kept to be refused by name.
    /// </summary>
    public static string Normalize(string value) =>
        All.FirstOrDefault(p => string.Equals(p, value, StringComparison.OrdinalIgnoreCase)) ?? value;
}

/// <param name="Field">The setting's key in <see cref="SettingsForm"/> (and its label's text key: settings.field.{Field}).</param>
/// <param name="TextKey">The message's text key; <paramref name="Args"/> fill its placeholders after the field label.</param>
public sealed record SettingsProblem(string Field, string TextKey, params object[] Args);

/// <summary>
/// The Settings tab's values. Read from configuration (appsettings.json overlaid by the saved settings file),
/// validated with one message per wrong field, and written back as that file.
/// </summary>
public sealed class SettingsForm
{
    public const int MaxSafetyMarginMiB = 64 * 1024;

    public string ModelDirectory { get; set; } = "";
    public string ExecutionProvider { get; set; } = ExecutionProviders.Auto;
    public ResidencyPolicy Residency { get; set; } = ResidencyPolicy.Auto;
    public int SafetyMarginMiB { get; set; } = 1024;
    public int MaxQueuedPerUser { get; set; } = 10;
    public int MaxQueuedTotal { get; set; } = 1000;
    public string OutputDirectory { get; set; } = "outputs";
    public int RetentionDays { get; set; }
    /// <summary>"Defaults for new pictures": the engine's own settings record, checked by its own rules.</summary>
    public GenerationRequest Defaults { get; set; } = GenerationRequest.Defaults;

    /// <summary>The field key of a default (its label's text key is settings.field.{key}), from the engine's field name.</summary>
    public static string DefaultField(string engineField) => "Default" + char.ToUpperInvariant(engineField[0]) + engineField[1..];

    public static SettingsForm From(IConfiguration c)
    {
        var form = new SettingsForm();
        form.ModelDirectory = c[SettingsKeys.ModelDirectory] ?? form.ModelDirectory;
        form.ExecutionProvider = ExecutionProviders.Normalize(c[SettingsKeys.ExecutionProvider] ?? form.ExecutionProvider);
        if (Enum.TryParse<ResidencyPolicy>(c[SettingsKeys.Residency], ignoreCase: true, out var residency))
            form.Residency = residency;
        form.SafetyMarginMiB = Int(c, SettingsKeys.SafetyMarginMiB, form.SafetyMarginMiB);
        form.MaxQueuedPerUser = Int(c, SettingsKeys.MaxQueuedPerUser, form.MaxQueuedPerUser);
        form.MaxQueuedTotal = Int(c, SettingsKeys.MaxQueuedTotal, form.MaxQueuedTotal);
        form.OutputDirectory = c[SettingsKeys.OutputDirectory] ?? form.OutputDirectory;
        form.RetentionDays = Int(c, SettingsKeys.RetentionDays, form.RetentionDays);
        form.Defaults = NewPictureDefaults.Read(c).Defaults;
        return form;
    }

    public IReadOnlyList<SettingsProblem> Validate(Func<string, string> resolvePath)
    {
        var problems = new List<SettingsProblem>();
        void Range(string field, double value, double min, double max)
        {
            if (!(value >= min && value <= max))
                problems.Add(new(field, "settings.problem.range", min, max));
        }

        if (!ExecutionProviders.All.Contains(ExecutionProvider))
            problems.Add(new(nameof(ExecutionProvider), "settings.problem.choice", string.Join(", ", ExecutionProviders.All)));
        if (!Enum.IsDefined(Residency))
            problems.Add(new(nameof(Residency), "settings.problem.choice", string.Join(", ", Enum.GetNames<ResidencyPolicy>())));
        Range(nameof(SafetyMarginMiB), SafetyMarginMiB, 0, MaxSafetyMarginMiB);
        Range(nameof(MaxQueuedPerUser), MaxQueuedPerUser, 1, 1000);
        Range(nameof(MaxQueuedTotal), MaxQueuedTotal, 1, 100_000);
        if (MaxQueuedTotal < MaxQueuedPerUser)
            problems.Add(new(nameof(MaxQueuedTotal), "settings.problem.totalBelowPerUser"));
        Range(nameof(RetentionDays), RetentionDays, 0, 36500);
        // The engine's rules and ranges, worded in the person's language by the rule's text key.
        foreach (var p in Defaults.ValidateAsDefaults())
            problems.Add(new(DefaultField(p.Field), "settings.problem." + p.Rule, [.. p.Args]));
        // A NUL in a path makes resolving it throw; such a path names no folder on any system.
        if (string.IsNullOrWhiteSpace(OutputDirectory))
            problems.Add(new(nameof(OutputDirectory), "settings.problem.required"));
        else if (OutputDirectory.Contains('\0') || !CanCreate(resolvePath(OutputDirectory)))
            problems.Add(new(nameof(OutputDirectory), "settings.problem.folderNotWritable", OutputDirectory.Contains('\0') ? OutputDirectory.Replace('\0', '?') : resolvePath(OutputDirectory)));
        if (!string.IsNullOrWhiteSpace(ModelDirectory) && (ModelDirectory.Contains('\0') || !Directory.Exists(resolvePath(ModelDirectory))))
            problems.Add(new(nameof(ModelDirectory), "settings.problem.folderMissing", ModelDirectory.Contains('\0') ? ModelDirectory.Replace('\0', '?') : resolvePath(ModelDirectory)));
        return problems;
    }

    private static bool CanCreate(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    public string ToJson()
    {
        var defaults = new JsonObject
        {
            ["Steps"] = Defaults.Steps,
            ["Cfg"] = Defaults.Cfg,
            ["Width"] = Defaults.Width,
            ["Height"] = Defaults.Height,
            ["Count"] = Defaults.Count,
            ["NegativePrompt"] = Defaults.NegativePrompt,
        };
        var root = new JsonObject
        {
            ["ZImage"] = new JsonObject
            {
                ["Engine"] = new JsonObject { ["Provider"] = ExecutionProvider, ["ModelDirectory"] = ModelDirectory },
                ["Memory"] = new JsonObject
                {
                    ["Residency"] = Residency.ToString(),
                    ["SafetyMarginMiB"] = SafetyMarginMiB,
                },
                ["Jobs"] = new JsonObject
                {
                    ["MaxQueuedPerUser"] = MaxQueuedPerUser,
                    ["MaxQueuedTotal"] = MaxQueuedTotal,
                    ["OutputDirectory"] = OutputDirectory,
                    ["RetentionDays"] = RetentionDays,
                },
                ["Web"] = new JsonObject { ["Defaults"] = defaults },
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static int Int(IConfiguration c, string key, int fallback) =>
        int.TryParse(c[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
}
