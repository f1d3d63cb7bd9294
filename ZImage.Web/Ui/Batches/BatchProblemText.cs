using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Ui.Batches;

/// <summary>
/// A bad row of a batch list in the person's language: "Line 4, width: must be a multiple of 16 between 256 and 2048."
/// The engine words its problems in English and names the rule (<see cref="BatchLineProblem.Rule"/>); the rule's text
/// key is <c>batch.rule.{rule}</c>. A problem with no known rule keeps the engine's sentence.
/// </summary>
public static class BatchProblemText
{
    public static string Text(BatchLineProblem problem, Localizer l)
    {
        var text = UiText.Keys.Contains($"batch.rule.{problem.Rule}") ? l.Format($"batch.rule.{problem.Rule}", [.. problem.Args]) : problem.Message;
        return problem.Line > 0
            ? l.Format("batch.problemLine", problem.Line, problem.Field, text)
            : l.Format("batch.problemField", FieldLabel(problem.Field, l), text);
    }

    /// <summary>The batch-wide fields under the page's own labels; a list column keeps its CSV name.</summary>
    private static string FieldLabel(string field, Localizer l) => field switch
    {
        "name" => l["batch.name"],
        "picturesPerPrompt" => l["batch.perPrompt"],
        "styles" => l["batch.field.styles"],
        _ => field,
    };
}
