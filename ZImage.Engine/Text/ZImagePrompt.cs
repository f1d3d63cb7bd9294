namespace ZImage.Engine.Text;

/// <summary>
/// Z-Image's prompt encoding. The reference (Tongyi-MAI/Z-Image src/zimage/pipeline.py and diffusers
/// pipeline_z_image.py) renders Qwen3's chat template for one user message with add_generation_prompt=True and
/// enable_thinking=True — which adds no think block — then calls the tokenizer with max_length=512,
/// truncation=True. That truncation keeps the first 512 ids of the whole templated text, so a long prompt loses
/// its end and the template's closing <c>&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c> with it; we do the same.
/// Padding to 512 is dropped by the reference's attention mask, so it is never produced here.
/// </summary>
public static class ZImagePrompt
{
    /// <summary>The reference's max_length; a model folder states its own in the manifest's tokenizer.max_tokens.</summary>
    public const int MaxTokens = 512;

    public static string ApplyChatTemplate(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return $"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n";
    }

    /// <summary>The ids the text encoder gets for <paramref name="prompt"/> (template applied, cut to <paramref name="maxTokens"/>).</summary>
    public static PromptTokens EncodePrompt(this Qwen3Tokenizer tokenizer, string prompt, int maxTokens = MaxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        var ids = tokenizer.Encode(ApplyChatTemplate(prompt));
        return ids.Length <= maxTokens ? new PromptTokens(ids, ids.Length) : new PromptTokens(ids[..maxTokens], ids.Length);
    }

    /// <summary>Untruncated templated length, for a live counter; repeated words hit the tokenizer's piece cache.</summary>
    public static int CountTokens(this Qwen3Tokenizer tokenizer, string prompt) =>
        tokenizer.Encode(ApplyChatTemplate(prompt)).Length;
}
