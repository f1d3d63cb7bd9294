using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Ui.Batches;

/// <summary>What a person asks for: a list of prompts, its format, the styles and pictures per prompt, and settings.</summary>
public sealed record BatchOrder
{
    public string Name { get; init; } = "";
    public string List { get; init; } = "";
    public BatchListFormat Format { get; init; } = BatchListFormat.Text;
    public IReadOnlyList<string> Styles { get; init; } = [];
    public int PicturesPerPrompt { get; init; } = 1;
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Steps { get; init; }
}

/// <summary>
/// Turns an order into the batch's jobs, the one way the batch page and <c>POST /api/v1/batches</c> both use: the list is
/// parsed, each line × style gets the defaults for new pictures (Settings) and the style's words, and every job is
/// checked by the engine's rules; any problem is returned with its line and field and nothing is submitted.
/// </summary>
public sealed class BatchBuilder(NewPictureDefaults defaults, StyleCatalog styles)
{
    public const int MaxNameLength = 80;

    public (IReadOnlyList<BatchItem> Items, IReadOnlyList<BatchLineProblem> Problems) Build(BatchOrder order)
    {
        if (order.Name.Length > MaxNameLength)
            return ([], [new(0, "name", $"name must be at most {MaxNameLength} characters (got {order.Name.Length}).") { Rule = "tooLong", Args = [MaxNameLength] }]);
        var (lines, problems) = BatchList.Parse(order.List, order.Format);
        if (problems.Count > 0)
            return ([], problems);
        var start = defaults.Current with
        {
            Width = order.Width ?? defaults.Current.Width,
            Height = order.Height ?? defaults.Current.Height,
            Steps = order.Steps ?? defaults.Current.Steps,
        };
        // Every line has prompt text, so its own language picks the style's words; the "no words yet" language never applies.
        return BatchPlan.Expand(lines, order.Styles, order.PicturesPerPrompt, start, settings => styles.Apply(settings));
    }
}
