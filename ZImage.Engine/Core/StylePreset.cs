namespace ZImage.Engine.Core;

/// <summary>The two languages a style's words come in; the prompt's own text picks one (<see cref="StylePreset.LanguageOf"/>).</summary>
public enum PromptLanguage
{
    English,
    Chinese,
}

/// <summary>
/// A named look: a sentence added to the prompt and one added to the avoid (negative) box, in English and in Chinese.
/// Z-Image-Turbo follows long natural-language descriptions and its Qwen3 text encoder reads Chinese natively, so the
/// fragments describe the medium, light and finish in whole phrases rather than tag lists, and a Chinese prompt gets
/// Chinese words (an English clause glued to a Chinese prompt reads badly in the box the person edits). The request
/// records only the preset's <see cref="Id"/> (<see cref="GenerationRequest.Style"/>); the words themselves are in the
/// prompt, where the person sees and may edit them.
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
    /// <summary>The prompt words for Chinese prompts; empty (a team preset may leave it out): <see cref="Prompt"/> is used.</summary>
    public string PromptZh { get; init; } = "";
    /// <summary>The avoid words for Chinese prompts; empty: <see cref="Negative"/> is used.</summary>
    public string NegativeZh { get; init; } = "";
    /// <summary>False for the built-in set, true for the presets a team adds in Settings.</summary>
    public bool IsTeam { get; init; }

    /// <summary>The words this preset adds in one language, falling back to the English ones where no Chinese ones exist.</summary>
    public (string Prompt, string Negative) Fragments(PromptLanguage language) => language == PromptLanguage.Chinese
        ? (PromptZh.Length > 0 ? PromptZh : Prompt, NegativeZh.Length > 0 ? NegativeZh : Negative)
        : (Prompt, Negative);

    /// <summary>
    /// The language a text is written in: Chinese when its Han characters outnumber its Latin words (a Chinese prompt
    /// naming "MacBook" is still Chinese; an English one quoting 福 is still English), English when it has Latin words
    /// and fewer Han characters, <paramref name="whenEmpty"/> when it has neither (nothing typed yet).
    /// </summary>
    public static PromptLanguage LanguageOf(string? text, PromptLanguage whenEmpty)
    {
        int han = 0, words = 0;
        bool inWord = false;
        foreach (var c in text ?? "")
        {
            bool latin = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '\u00C0' and <= '\u024F');
            if (latin && !inWord)
                words++;
            inWord = latin;
            if (c is (>= '\u4E00' and <= '\u9FFF') or (>= '\u3400' and <= '\u4DBF') or (>= '\uF900' and <= '\uFAFF'))
                han++;
        }
        return han == 0 && words == 0 ? whenEmpty : han > words ? PromptLanguage.Chinese : PromptLanguage.English;
    }

    /// <summary>
    /// The language whose words <see cref="Apply"/> adds to this prompt: the one whose fragment is already there (so a
    /// second apply changes nothing), else the prompt's own language (<see cref="LanguageOf"/>).
    /// </summary>
    public PromptLanguage LanguageFor(string? prompt, PromptLanguage whenEmpty)
    {
        prompt ??= "";
        foreach (var language in (PromptLanguage[])[PromptLanguage.English, PromptLanguage.Chinese])
            if (Fragments(language).Prompt is { Length: > 0 } fragment && prompt.Contains(fragment, StringComparison.Ordinal))
                return language;
        return LanguageOf(prompt, whenEmpty);
    }

    /// <summary>
    /// The prompt and avoid text with this preset's fragments appended in the prompt's language (<see cref="LanguageFor"/>),
    /// each only when neither language's fragment is already there, so applying twice (the form showed it, then the
    /// server applies it again) changes nothing.
    /// </summary>
    /// <param name="whenEmpty">The language for a prompt with no words yet: the page's on the Generate page, English on the API.</param>
    public (string Prompt, string Negative) Apply(string prompt, string negative, PromptLanguage whenEmpty = PromptLanguage.English)
    {
        var (addPrompt, addNegative) = Fragments(LanguageFor(prompt, whenEmpty));
        return (Append(prompt, addPrompt, [Prompt, PromptZh]), Append(negative, addNegative, [Negative, NegativeZh]));
    }

    /// <summary>The texts with this preset's fragments, in either language, taken out again (the form switches to another preset).</summary>
    public (string Prompt, string Negative) Remove(string prompt, string negative) =>
        (Strip(Strip(prompt, Prompt), PromptZh), Strip(Strip(negative, Negative), NegativeZh));

    private static string Append(string text, string fragment, string[] present)
    {
        text ??= "";
        if (fragment.Length == 0 || present.Any(p => p.Length > 0 && text.Contains(p, StringComparison.Ordinal)))
            return text;
        var trimmed = text.TrimEnd();
        if (trimmed.Length == 0)
            return fragment;
        bool ended = trimmed[^1] is '.' or ',' or '。' or '，' or ';' or '；' or '、';
        // Chinese words join with a full-width comma and no space; English ones with ", " (a mark already there separates).
        if (LanguageOf(fragment, PromptLanguage.English) == PromptLanguage.Chinese)
            return ended ? trimmed + fragment : $"{trimmed}，{fragment}";
        return ended ? $"{trimmed} {fragment}" : $"{trimmed}, {fragment}";
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
        if (before.EndsWith(',') || before.EndsWith('，'))
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
        // The three optional fragments: empty is allowed (Chinese prompts then get the English words).
        foreach (var (field, value) in (ReadOnlySpan<(string, string)>)[("negative", Negative), ("promptZh", PromptZh), ("negativeZh", NegativeZh)])
            if (value.Length > MaxFragmentLength)
                problems.Add(new(field, $"{field} must be at most {MaxFragmentLength} characters.") { Rule = "length", Args = [0, MaxFragmentLength] });
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
            PromptZh = "以全画幅相机配 50 毫米镜头拍摄的写实照片，自然日光，色彩还原准确，皮肤与衣料的纹理细腻可见，浅景深让背景柔和虚化，主体对焦清晰锐利",
            NegativeZh = "插画，绘画，卡通，三维渲染，塑料感的皮肤，色彩过度饱和，主体模糊，多余的手指，水印，文字",
        },
        new()
        {
            Id = "product", NameEn = "Product shot", NameZh = "产品图",
            Prompt = "shown as a clean commercial product photograph on a seamless light studio backdrop, soft even key light with a gentle rim light, crisp reflections and true material colours, the product centred and fully in frame, catalogue quality",
            Negative = "cluttered background, people, hands, harsh shadows, distorted logo, misspelled text, dust, fingerprints, watermark, low resolution",
            PromptZh = "一张干净的商业产品摄影，产品摆在无缝的浅色影棚背景上，柔和均匀的主光加一道轻微的轮廓光，反光清晰，材质颜色真实，产品居中且完整入画，达到商品目录的品质",
            NegativeZh = "背景杂乱，人物，手，生硬的阴影，变形的标志，错别字，灰尘，指纹，水印，低分辨率",
        },
        new()
        {
            Id = "flat", NameEn = "Flat illustration", NameZh = "扁平插画",
            Prompt = "drawn as a modern flat vector illustration with simple geometric shapes, a limited harmonious colour palette, clean outlines, no gradients or only subtle ones, generous negative space, the style of an editorial or app onboarding illustration",
            Negative = "photograph, photorealistic, 3D shading, heavy texture, noise, cluttered details, blurry edges, watermark",
            PromptZh = "现代扁平矢量插画，由简洁的几何形状构成，配色有限而和谐，轮廓干净利落，不用渐变或只有很轻的渐变，留白充足，像杂志配图或应用引导页里的插画",
            NegativeZh = "照片，照片级写实，三维明暗，厚重的肌理，噪点，细节杂乱，边缘模糊，水印",
        },
        new()
        {
            Id = "anime", NameEn = "Anime", NameZh = "动漫",
            Prompt = "in the style of a Japanese anime film still, clean expressive line art, cel shading with soft gradients, large luminous eyes, vivid yet balanced colours, a detailed painted background and cinematic lighting",
            Negative = "photograph, photorealistic, 3D render, western cartoon, deformed hands, extra limbs, messy lines, low quality, watermark",
            PromptZh = "日本动画电影截图的画风，线条干净而富有表现力，赛璐璐上色配柔和的渐变，大而明亮的眼睛，色彩鲜艳又协调，背景是精细的手绘场景，光影富有电影感",
            NegativeZh = "照片，照片级写实，三维渲染，欧美卡通，手部畸形，多余的肢体，线条凌乱，低质量，水印",
        },
        new()
        {
            Id = "watercolour", NameEn = "Watercolour", NameZh = "水彩",
            Prompt = "painted in transparent watercolour on textured cold-press paper, soft wet-in-wet washes bleeding into one another, delicate pigment granulation, loose brushwork with white paper left showing, light and airy mood",
            Negative = "photograph, digital painting, hard edges, heavy outlines, 3D render, oversaturated colours, watermark",
            PromptZh = "用透明水彩画在有纹理的冷压水彩纸上，湿画法的淡彩彼此晕染交融，颜料颗粒细腻沉淀，笔触松弛随意，处处留出纸的白底，氛围轻盈通透",
            NegativeZh = "照片，数字绘画，生硬的边缘，粗重的勾线，三维渲染，色彩过度饱和，水印",
        },
        new()
        {
            Id = "ink", NameEn = "Ink painting (Guofeng)", NameZh = "国风水墨",
            Prompt = "rendered as a traditional Chinese ink wash painting in the guofeng style, expressive black ink brushstrokes on aged rice paper, graded ink tones from deep black to pale grey, light touches of mineral colour, generous empty space, a small red seal in the corner",
            Negative = "photograph, photorealistic, western oil painting, 3D render, neon colours, cluttered composition, modern objects, watermark",
            PromptZh = "一幅国风传统水墨画，在泛黄的宣纸上以写意笔法挥洒墨色，墨分五色，从焦墨、浓墨到淡墨层层晕开，略施石青、石绿等矿物颜料，大片留白，画角钤一方朱红印章",
            NegativeZh = "照片，照片级写实，西方油画，三维渲染，霓虹色彩，构图杂乱，现代物品，水印",
        },
        new()
        {
            Id = "cinematic", NameEn = "Cinematic", NameZh = "电影感",
            Prompt = "framed as a cinematic film still shot on anamorphic lenses, dramatic low-key lighting with motivated practical lights, teal and orange colour grade, subtle film grain, atmospheric haze and a wide 2.39:1 composition",
            Negative = "flat lighting, snapshot, cartoon, illustration, overexposed, oversaturated, low detail, watermark, subtitles",
            PromptZh = "电影剧照般的画面，用变形宽银幕镜头拍摄，低调而富有戏剧性的布光，光线来自画面中真实的灯具，青橙色调的调色，细微的胶片颗粒，空气里浮着薄雾，2.39:1 的宽银幕构图",
            NegativeZh = "平光，随手快照，卡通，插画，过曝，色彩过度饱和，细节不足，水印，字幕",
        },
        new()
        {
            Id = "3d", NameEn = "3D render", NameZh = "三维渲染",
            Prompt = "as a polished 3D render with soft global illumination and ambient occlusion, smooth stylised materials with subtle subsurface scattering, gentle studio lighting, clean pastel background, high detail, the look of a modern animated feature",
            Negative = "photograph, 2D illustration, sketch, noise, low-poly artefacts, jagged edges, harsh shadows, watermark",
            PromptZh = "一张精致的三维渲染图，柔和的全局光照与环境光遮蔽，平滑的风格化材质带有细微的次表面散射，柔和的影棚灯光，干净的马卡龙色背景，细节丰富，像现代三维动画长片里的画面",
            NegativeZh = "照片，二维插画，草图，噪点，低多边形的瑕疵，锯齿边缘，生硬的阴影，水印",
        },
        new()
        {
            Id = "retro-film", NameEn = "Retro film", NameZh = "复古胶片",
            Prompt = "as a vintage 35 mm film photograph from the 1980s, warm faded colours with slightly lifted blacks, visible film grain, soft halation around highlights, a gentle light leak at the edge, nostalgic candid mood",
            Negative = "digital look, ultra sharp, HDR, oversaturated, modern smartphone photo, 3D render, cartoon, watermark",
            PromptZh = "一张上世纪八十年代的 35 毫米胶片老照片，色彩温暖而褪色，暗部微微发灰，胶片颗粒清晰可见，高光周围有柔和的光晕，画面边缘有一道淡淡的漏光，怀旧又随性的氛围",
            NegativeZh = "数码感，过度锐化，HDR 效果，色彩过度饱和，现代手机照片，三维渲染，卡通，水印",
        },
    ];
}
