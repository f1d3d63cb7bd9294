using ZImage.Engine.Models;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.Settings;

/// <summary>The configuration keys the Settings tab edits; the saved file overlays appsettings.json.</summary>
public static class SettingsKeys
{
    public const string ModelDirectory = EngineOptions.Section + ":ModelDirectory";
    public const string Residency = VramOptions.Section + ":Residency";
    public const string SafetyMarginMiB = VramOptions.Section + ":SafetyMarginMiB";
    public const string ExecutionProvider = EngineOptions.Section + ":Provider";
    public const string IdleUnloadMinutes = EngineOptions.Section + ":IdleUnloadMinutes";
    public const string MaxQueuedPerUser = JobsOptions.Section + ":MaxQueuedPerUser";
    public const string MaxQueuedTotal = JobsOptions.Section + ":MaxQueuedTotal";
    public const string OutputDirectory = JobsOptions.Section + ":OutputDirectory";
    public const string RetentionDays = JobsOptions.Section + ":RetentionDays";
    public const string Defaults = "ZImage:Web:Defaults";
    public const string StylePresets = "ZImage:Web:StylePresets";
}
