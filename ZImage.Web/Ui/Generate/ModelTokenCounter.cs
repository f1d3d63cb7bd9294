using ZImage.Engine.Models;
using ZImage.Engine.Text;

namespace ZImage.Web.Ui.Generate;

/// <summary>
/// Counts with the model's own tokenizer.json (loaded once by the catalog, in the background); until it has loaded
/// or when there is none, it falls back to the estimate and says so.
/// </summary>
public sealed class ModelTokenCounter(IModelCatalog catalog) : IPromptTokenCounter
{
    private readonly EstimatingPromptTokenCounter _estimate = new();

    public PromptTokenCount Count(string prompt) =>
        catalog.Current.Tokenizer is { IsCompletedSuccessfully: true, Result: { } tokenizer }
            ? new PromptTokenCount(tokenizer.CountTokens(prompt ?? ""), Exact: true)
            : _estimate.Count(prompt);
}
