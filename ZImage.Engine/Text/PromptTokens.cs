namespace ZImage.Engine.Text;

/// <summary>
/// A prompt as the Z-Image text encoder sees it. <see cref="Ids"/> holds at most <see cref="ZImagePrompt.MaxTokens"/>
/// ids; <see cref="FullCount"/> is how many the templated prompt needed, so the UI can say "530 / 512, cut".
/// </summary>
public sealed record PromptTokens(int[] Ids, int FullCount)
{
    public bool Truncated => FullCount > Ids.Length;
}
