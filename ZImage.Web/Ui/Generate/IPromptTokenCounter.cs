namespace ZImage.Web.Ui.Generate;

/// <summary>How many tokens the text encoder will see for a prompt, template included.</summary>
public interface IPromptTokenCounter
{
    PromptTokenCount Count(string prompt);
}

/// <param name="Exact">False when no tokenizer is installed and the number is an estimate.</param>
public sealed record PromptTokenCount(int Tokens, bool Exact)
{
    /// <summary>Z-Image keeps the first tokens of the templated prompt and drops the rest.</summary>
    public const int Limit = ZImage.Engine.Text.ZImagePrompt.MaxTokens;

    public bool WillBeCut => Tokens > Limit;
}

/// <summary>
/// Used when the model folder has no tokenizer (first run, self-test model). Qwen's byte-level BPE gives
/// roughly one token per four characters of English and one per Chinese character; the counter says
/// "about" so nobody mistakes it for the real count.
/// </summary>
public sealed class EstimatingPromptTokenCounter : IPromptTokenCounter
{
    /// <summary>&lt;|im_start|&gt;user\n … &lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n around every prompt.</summary>
    public const int TemplateTokens = 8;

    public PromptTokenCount Count(string prompt)
    {
        var other = 0;
        var wide = 0;
        foreach (var c in prompt ?? "")
        {
            if (c >= 0x2E80)
                wide++;
            else
                other++;
        }
        return new PromptTokenCount(TemplateTokens + wide + (other + 3) / 4, Exact: false);
    }
}
