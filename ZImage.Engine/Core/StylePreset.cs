namespace ZImage.Engine.Core;

/// <summary>
/// A named look: a sentence added to the prompt and one added to the avoid (negative) box. Z-Image-Turbo follows long
/// natural-language descriptions, so the fragments describe the medium, light and finish in whole phrases rather than
/// tag lists. The request records only the preset's <see cref="Id"/> (<see cref="GenerationRequest.Style"/>); the
/// words themselves are in the prompt, where the person sees and may edit them.
/// </summary>
public sealed record StylePreset
{
    public const int MaxIdLength = 40;
    public const int MaxNameLength = 60;
    public const int MaxFragmentLength = 1_000;

    /// <summary>Stable key written into pictures and history ("photo", "team-banner"): lower-case letters, digits and dashes.</summary>
    public required string Id { get; init; }
    public required string NameEn { get; init; }
    public required string NameZh { get; init; }
    public required string Prompt { get; init; }
    public string Negative { get; init; } = "";
    /// <summary>False for the built-in set, true for the presets a team adds in Settings.</summary>
    public bool IsTeam { get; init; }

    /// <summary>
    /// The prompt and avoid text with this preset's fragments appended, each only when not already there, so applying
    /// twice (the form showed it, then the server applies it again) changes nothing.
    /// </summary>
    public (string Prompt, string Negative) Apply(string prompt, string negative) =>
        (Append(prompt, Prompt), Append(negative, Negative));

    /// <summary>The texts with this preset's fragments taken out again (the form switches to another preset).</summary>
    public (string Prompt, string Negative) Remove(string prompt, string negative) =>
        (Strip(prompt, Prompt), Strip(negative, Negative));

    private static string Append(string text, string fragment)
    {
        text ??= "";
        if (fragment.Length == 0 || text.Contains(fragment, StringComparison.Ordinal))
            return text;
        var trimmed = text.TrimEnd();
        if (trimmed.Length == 0)
            return fragment;
        // A sentence-ending mark already separates; otherwise a comma keeps it one description.
        return trimmed[^1] is '.' or ',' or '。' or '，' or ';' ? $"{trimmed} {fragment}" : $"{trimmed}, {fragment}";
    }

    private static string Strip(string text, string fragment)
    {
        text ??= "";
        if (fragment.Length == 0)
            return text;
        int at = text.LastIndexOf(fragment, StringComparison.Ordinal);
        if (at < 0)
            return text;
        var before = text[..at].TrimEnd();
        if (before.EndsWith(','))
            before = before[..^1];
        return (before + text[(at + fragment.Length)..]).TrimEnd();
    }

    /// <summary>Problems with a preset as a team entered it, each naming the field and the rule.</summary>
    public IReadOnlyList<ValidationProblem> Validate()
    {
        var problems = new List<ValidationProblem>();
        if (string.IsNullOrEmpty(Id) || Id.Length > MaxIdLength || !Id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            problems.Add(new("id", $"id must be 1 to {MaxIdLength} lower-case letters, digits or dashes (got '{Id}').") { Rule = "styleId", Args = [MaxIdLength] });
        if (string.IsNullOrWhiteSpace(NameEn) || NameEn.Length > MaxNameLength)
            problems.Add(new("nameEn", $"nameEn must be 1 to {MaxNameLength} characters.") { Rule = "length", Args = [1, MaxNameLength] });
        if (string.IsNullOrWhiteSpace(NameZh) || NameZh.Length > MaxNameLength)
            problems.Add(new("nameZh", $"nameZh must be 1 to {MaxNameLength} characters.") { Rule = "length", Args = [1, MaxNameLength] });
        if (string.IsNullOrWhiteSpace(Prompt) || Prompt.Length > MaxFragmentLength)
            problems.Add(new("prompt", $"prompt must be 1 to {MaxFragmentLength} characters.") { Rule = "length", Args = [1, MaxFragmentLength] });
        if (Negative.Length > MaxFragmentLength)
            problems.Add(new("negative", $"negative must be at most {MaxFragmentLength} characters.") { Rule = "length", Args = [0, MaxFragmentLength] });
        return problems;
    }

    /// <summary>The built-in looks. Ids are stable: pictures and history name them.</summary>
    public static IReadOnlyList<StylePreset> BuiltIn { get; } =
    [
        new()
        {
            Id = "photo", NameEn = "Photo", NameZh = "写实照片",
            Prompt = "photographed as a true-to-life photograph with a full-frame camera and a 50 mm lens, natural daylight, accurate colours, fine skin and fabric texture, shallow depth of field with a softly blurred background, sharp focus on the subject",
            Negative = "illustration, painting, cartoon, 3D render, plastic skin, oversaturated colours, blurry subject, extra fingers, watermark, text",
        },
        new()
        {
            Id = "product", NameEn = "Product shot", NameZh = "产品图",
            Prompt = "shown as a clean commercial product photograph on a seamless light studio backdrop, soft even key light with a gentle rim light, crisp reflections and true material colours, the product centred and fully in frame, catalogue quality",
            Negative = "cluttered background, people, hands, harsh shadows, distorted logo, misspelled text, dust, fingerprints, watermark, low resolution",
        },
        new()
        {
            Id = "flat", NameEn = "Flat illustration", NameZh = "扁平插画",
            Prompt = "drawn as a modern flat vector illustration with simple geometric shapes, a limited harmonious colour palette, clean outlines, no gradients or only subtle ones, generous negative space, the style of an editorial or app onboarding illustration",
            Negative = "photograph, photorealistic, 3D shading, heavy texture, noise, cluttered details, blurry edges, watermark",
        },
        new()
        {
            Id = "anime", NameEn = "Anime", NameZh = "动漫",
            Prompt = "in the style of a Japanese anime film still, clean expressive line art, cel shading with soft gradients, large luminous eyes, vivid yet balanced colours, a detailed painted background and cinematic lighting",
            Negative = "photograph, photorealistic, 3D render, western cartoon, deformed hands, extra limbs, messy lines, low quality, watermark",
        },
        new()
        {
            Id = "watercolour", NameEn = "Watercolour", NameZh = "水彩",
            Prompt = "painted in transparent watercolour on textured cold-press paper, soft wet-in-wet washes bleeding into one another, delicate pigment granulation, loose brushwork with white paper left showing, light and airy mood",
            Negative = "photograph, digital painting, hard edges, heavy outlines, 3D render, oversaturated colours, watermark",
        },
        new()
        {
            Id = "ink", NameEn = "Ink painting (Guofeng)", NameZh = "国风水墨",
            Prompt = "rendered as a traditional Chinese ink wash painting in the guofeng style, expressive black ink brushstrokes on aged rice paper, graded ink tones from deep black to pale grey, light touches of mineral colour, generous empty space, a small red seal in the corner",
            Negative = "photograph, photorealistic, western oil painting, 3D render, neon colours, cluttered composition, modern objects, watermark",
        },
        new()
        {
            Id = "cinematic", NameEn = "Cinematic", NameZh = "电影感",
            Prompt = "framed as a cinematic film still shot on anamorphic lenses, dramatic low-key lighting with motivated practical lights, teal and orange colour grade, subtle film grain, atmospheric haze and a wide 2.39:1 composition",
            Negative = "flat lighting, snapshot, cartoon, illustration, overexposed, oversaturated, low detail, watermark, subtitles",
        },
        new()
        {
            Id = "3d", NameEn = "3D render", NameZh = "三维渲染",
            Prompt = "as a polished 3D render with soft global illumination and ambient occlusion, smooth stylised materials with subtle subsurface scattering, gentle studio lighting, clean pastel background, high detail, the look of a modern animated feature",
            Negative = "photograph, 2D illustration, sketch, noise, low-poly artefacts, jagged edges, harsh shadows, watermark",
        },
        new()
        {
            Id = "retro-film", NameEn = "Retro film", NameZh = "复古胶片",
            Prompt = "as a vintage 35 mm film photograph from the 1980s, warm faded colours with slightly lifted blacks, visible film grain, soft halation around highlights, a gentle light leak at the edge, nostalgic candid mood",
            Negative = "digital look, ultra sharp, HDR, oversaturated, modern smartphone photo, 3D render, cartoon, watermark",
        },
    ];
}
