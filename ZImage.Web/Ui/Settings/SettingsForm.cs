using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Ui.Settings;

public static class ExecutionProviders
{
    public const string Auto = "Auto";
    public static readonly IReadOnlyList<string> All = [Auto, "CUDA", "TensorRT", "CPU"];

    /// <summary>
    /// The engine binds ZImage:Engine:Provider case-insensitively (Cpu, cpu and CPU are one choice), so the form must
    /// read it the same way or a hand-written "Cpu" shows as no choice at all. Unknown values are kept to be refused by name.
    /// </summary>
    public static string Normalize(string value) =>
        All.FirstOrDefault(p => string.Equals(p, value, StringComparison.OrdinalIgnoreCase)) ?? value;
}

/// <param name="Field">The setting's key in <see cref="SettingsForm"/> (and its label's text key: settings.field.{Field}).</param>
/// <param name="TextKey">The message's text key; <paramref name="Args"/> fill its placeholders after the field label.</param>
public sealed record SettingsProblem(string Field, string TextKey, params object[] Args)
{
    /// <summary>The sentence in the page's language; an argument that is itself a <see cref="TextRef"/> is translated too.</summary>
    public string Text(Localizer l) =>
        l.Format(TextKey, [l[$"settings.field.{Field}"], .. Args.Select(a => a is TextRef r ? l.Format(r.Key, r.Args) : a)]);
}

/// <summary>A translatable piece inside another message (e.g. the model check's finding inside "cannot be saved").</summary>
public sealed record TextRef(string Key, params object[] Args);

/// <summary>
/// The Settings tab's values. Read from configuration (appsettings.json overlaid by the saved settings file),
/// validated with one message per wrong field, and written back as that file.
/// </summary>
public sealed class SettingsForm
{
    public string ModelDirectory { get; set; } = "";
    public string ExecutionProvider { get; set; } = ExecutionProviders.Auto;
    /// <summary>Minutes without a job before the model is unloaded and the GPU memory released; 0 = never (<see cref="EngineOptions.IdleUnloadMinutes"/>).</summary>
    public int IdleUnloadMinutes { get; set; }

    /// <summary>The engine's own options objects: their defaults are the form's, their validators check it.</summary>
    public JobsOptions Jobs { get; private set; } = new();
    public VramOptions Memory { get; private set; } = new();
    /// <summary>The price of GPU time for usage reports.</summary>
    public UsageOptions Usage { get; private set; } = new();

    public ResidencyPolicy Residency { get => Memory.Residency; set => Memory.Residency = value; }
    public int SafetyMarginMiB { get => Memory.SafetyMarginMiB; set => Memory.SafetyMarginMiB = value; }
    public int MaxQueuedPerUser { get => Jobs.MaxQueuedPerUser; set => Jobs.MaxQueuedPerUser = value; }
    public int MaxQueuedTotal { get => Jobs.MaxQueuedTotal; set => Jobs.MaxQueuedTotal = value; }
    public string OutputDirectory { get => Jobs.OutputDirectory; set => Jobs.OutputDirectory = value; }
    public int RetentionDays { get => Jobs.RetentionDays; set => Jobs.RetentionDays = value; }

    /// <summary>"Defaults for new pictures": the engine's own settings record, checked by its own rules.</summary>
    public GenerationRequest Defaults { get; set; } = GenerationRequest.Defaults;

    /// <summary>The team's own style presets (the built-in ones are fixed and not listed here).</summary>
    public List<TeamStyle> StylePresets { get; set; } = [];

    /// <summary>The field key of a default (its label's text key is settings.field.{key}), from the engine's field name.</summary>
    public static string DefaultField(string engineField) => "Default" + char.ToUpperInvariant(engineField[0]) + engineField[1..];

    public static SettingsForm From(IConfiguration c)
    {
        var form = new SettingsForm();
        form.ModelDirectory = c[SettingsKeys.ModelDirectory] ?? form.ModelDirectory;
        form.ExecutionProvider = ExecutionProviders.Normalize(c[SettingsKeys.ExecutionProvider] ?? form.ExecutionProvider);
        form.IdleUnloadMinutes = int.TryParse(c[SettingsKeys.IdleUnloadMinutes], out var idle) ? idle : 0;
        form.Jobs = Bind<JobsOptions>(c, JobsOptions.Section);
        form.Memory = Bind<VramOptions>(c, VramOptions.Section);
        form.Usage = Bind<UsageOptions>(c, UsageOptions.Section);
        form.Defaults = NewPictureDefaults.Read(c).Defaults;
        form.StylePresets = StyleCatalog.ReadTeam(c);
        return form;
    }

    public IReadOnlyList<SettingsProblem> Validate(Func<string, string> resolvePath)
    {
        var problems = new List<SettingsProblem>();

        if (!ExecutionProviders.All.Contains(ExecutionProvider))
            problems.Add(new(nameof(ExecutionProvider), "settings.problem.choice", string.Join(", ", ExecutionProviders.All)));
        if (!Enum.IsDefined(Residency))
            problems.Add(new(nameof(Residency), "settings.problem.choice", string.Join(", ", Enum.GetNames<ResidencyPolicy>())));
        EngineRules(Memory, [nameof(SafetyMarginMiB)], problems);
        if (!Enum.IsDefined(Usage.PriceForm))
            problems.Add(new("PriceForm", "settings.problem.choice", string.Join(", ", Enum.GetNames<PriceForm>())));
        EngineRules(Usage, [nameof(UsageOptions.PricePerGpuHour), nameof(UsageOptions.Watts), nameof(UsageOptions.TariffPerKWh), nameof(UsageOptions.Currency)], problems);
        if (IdleUnloadMinutes is < 0 or > EngineOptions.MaxIdleUnloadMinutes)
            problems.Add(new(nameof(IdleUnloadMinutes), "settings.problem.range", 0, EngineOptions.MaxIdleUnloadMinutes));
        EngineRules(Jobs, [nameof(MaxQueuedPerUser), nameof(MaxQueuedTotal), nameof(RetentionDays)], problems);
        if (MaxQueuedTotal < MaxQueuedPerUser)
            problems.Add(new(nameof(MaxQueuedTotal), "settings.problem.totalBelowPerUser"));
        // The engine's rules and ranges, worded in the person's language by the rule's text key.
        foreach (var p in Defaults.ValidateAsDefaults())
            problems.Add(new(DefaultField(p.Field), "settings.problem." + p.Rule, [.. p.Args]));
        // One message per wrong field of a team preset, with its row number (1-based) so the person finds it.
        for (int i = 0; i < StylePresets.Count; i++)
        {
            var preset = StylePresets[i].ToPreset();
            foreach (var p in preset.Validate())
                problems.Add(new(nameof(StylePresets), "settings.problem.style." + p.Field, [i + 1, .. p.Args]));
            if (StylePreset.BuiltIn.Concat(StylePresets.Take(i).Select(s => s.ToPreset())).Any(s => string.Equals(s.Id, preset.Id, StringComparison.OrdinalIgnoreCase)))
                problems.Add(new(nameof(StylePresets), "settings.problem.style.duplicate", i + 1, preset.Id));
        }
        // A NUL in a path makes resolving it throw; such a path names no folder on any system.
        if (string.IsNullOrWhiteSpace(OutputDirectory))
            problems.Add(new(nameof(OutputDirectory), "settings.problem.required"));
        else if (OutputDirectory.Contains('\0') || !CanCreate(resolvePath(OutputDirectory)))
            problems.Add(new(nameof(OutputDirectory), "settings.problem.folderNotWritable", OutputDirectory.Contains('\0') ? OutputDirectory.Replace('\0', '?') : resolvePath(OutputDirectory)));
        if (!string.IsNullOrWhiteSpace(ModelDirectory) && (ModelDirectory.Contains('\0') || !Directory.Exists(resolvePath(ModelDirectory))))
            problems.Add(new(nameof(ModelDirectory), "settings.problem.folderMissing", ModelDirectory.Contains('\0') ? ModelDirectory.Replace('\0', '?') : resolvePath(ModelDirectory)));
        // A folder that fails its check is never saved: Generate would only fail later, with a worse sentence.
        else if (!string.IsNullOrWhiteSpace(ModelDirectory) && ModelFolderCheck.Run(resolvePath(ModelDirectory)) is { State: not ModelFolderState.Ready } report)
            problems.Add(new(nameof(ModelDirectory), "settings.problem.modelUnusable", new TextRef(report.Problems[0].TextKey, report.Problems[0].Subject)));
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
                ["Engine"] = new JsonObject { ["Provider"] = ExecutionProvider, ["ModelDirectory"] = ModelDirectory, ["IdleUnloadMinutes"] = IdleUnloadMinutes },
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
                ["Usage"] = new JsonObject
                {
                    ["PriceForm"] = Usage.PriceForm.ToString(),
                    ["PricePerGpuHour"] = Usage.PricePerGpuHour,
                    ["Watts"] = Usage.Watts,
                    ["TariffPerKWh"] = Usage.TariffPerKWh,
                    ["Currency"] = Usage.Currency,
                },
                ["Web"] = new JsonObject
                {
                    ["Defaults"] = defaults,
                    ["StylePresets"] = new JsonArray([.. StylePresets.Select(p => p.ToPreset()).Select(p => (JsonNode)new JsonObject
                    {
                        ["Id"] = p.Id,
                        ["NameEn"] = p.NameEn,
                        ["NameZh"] = p.NameZh,
                        ["Prompt"] = p.Prompt,
                        ["Negative"] = p.Negative,
                        ["PromptZh"] = p.PromptZh,
                        ["NegativeZh"] = p.NegativeZh,
                    })]),
                },
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// The section as the engine binds it. A value that does not even parse (hand-edited) leaves the engine's defaults:
    /// the engine itself refused to start with it, so the form offers a fresh start.
    /// </summary>
    private static T Bind<T>(IConfiguration c, string section) where T : new()
    {
        var options = new T();
        try
        {
            c.GetSection(section).Bind(options);
            return options;
        }
        catch (InvalidOperationException)
        {
            return new T();
        }
    }

    /// <summary>
    /// The engine's validators (DataAnnotations, as ValidateDataAnnotations runs them at start-up) on the fields this form
    /// edits, each problem worded by its rule in the person's language.
    /// </summary>
    private static void EngineRules(object options, IReadOnlyCollection<string> fields, List<SettingsProblem> problems)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        foreach (var result in results)
        {
            foreach (var field in result.MemberNames.Where(fields.Contains))
            {
                var attributes = options.GetType().GetProperty(field)!.GetCustomAttributes(inherit: true);
                problems.Add(attributes.OfType<RangeAttribute>().FirstOrDefault() is { } range
                    ? new(field, "settings.problem.range", range.Minimum, range.Maximum)
                    : new(field, "settings.problem.required"));
            }
        }
    }
}
