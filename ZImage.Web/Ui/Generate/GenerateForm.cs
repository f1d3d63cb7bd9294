using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.Generate;

public enum SeedMode
{
    Random,
    Fixed,
    ReuseLast,
}

public enum SizeMode
{
    Preset,
    Custom,
}

/// <summary>
/// What the Generate form holds. Setters clamp to what the model accepts, so the form can never show a value
/// that would be refused; custom sides are snapped to multiples of 16 and <see cref="SnapNote"/> says so.
/// Settings the form has no control for (CFG truncation and normalization) ride along from the defaults or the
/// reused picture, so "reuse settings" remakes a picture exactly, whatever fields the settings record grows.
/// </summary>
public sealed class GenerateForm
{
    private GenerationRequest _base = GenerationRequest.Defaults;
    private int _steps;
    private float _cfg;
    private int _count;
    private int _customWidth = GenerationRequest.Defaults.Width;
    private int _customHeight = GenerationRequest.Defaults.Height;
    private long? _fixedSeed;

    public GenerateForm() : this(GenerationRequest.Defaults)
    {
    }

    /// <param name="defaults">The defaults for new pictures (Settings); their prompt and seed are not used.</param>
    public GenerateForm(GenerationRequest defaults) => ApplyDefaults(defaults);

    public string Prompt { get; set; } = "";
    public string NegativePrompt { get; set; } = "";

    /// <summary>The chosen style preset's id; empty for none. Its words are in the two boxes, where they can be edited.</summary>
    public string Style { get; private set; } = "";

    /// <summary>
    /// Picks a style: the previous one's fragments leave the prompt and avoid boxes (where still unchanged) and the new
    /// one's are appended in the prompt's language, so the person sees exactly what the model will read. Null: no style.
    /// </summary>
    /// <param name="whenEmpty">The words' language while the prompt is still empty: the page's.</param>
    public void ChooseStyle(StylePreset? preset, StylePreset? previous, PromptLanguage whenEmpty = PromptLanguage.English)
    {
        if (previous is not null)
            (Prompt, NegativePrompt) = previous.Remove(Prompt, NegativePrompt);
        if (preset is not null)
            (Prompt, NegativePrompt) = preset.Apply(Prompt, NegativePrompt, whenEmpty);
        Style = preset?.Id ?? "";
    }

    public int Steps
    {
        get => _steps;
        set => _steps = Math.Clamp(value, GenerationLimits.MinSteps, GenerationLimits.MaxSteps);
    }

    /// <summary>One decimal is all the slider offers; finer values only make two settings look different that are not.</summary>
    public float Cfg
    {
        get => _cfg;
        set => _cfg = float.IsNaN(value) ? 0f : MathF.Round(Math.Clamp(value, GenerationLimits.MinCfg, GenerationLimits.MaxCfg), 1);
    }

    public int Count
    {
        get => _count;
        set => _count = Math.Clamp(value, GenerationLimits.MinCount, GenerationLimits.MaxCount);
    }

    public SizeMode SizeMode { get; set; } = SizeMode.Preset;

    public SizePreset Preset { get; set; } = SizePresets.Default;

    public int CustomWidth
    {
        get => _customWidth;
        set => (_customWidth, WidthTyped) = (SizeRules.Snap(value), value);
    }

    public int CustomHeight
    {
        get => _customHeight;
        set => (_customHeight, HeightTyped) = (SizeRules.Snap(value), value);
    }

    /// <summary>The last values typed, kept only to explain a snap.</summary>
    public int? WidthTyped { get; private set; }
    public int? HeightTyped { get; private set; }

    public int Width => SizeMode == SizeMode.Preset ? Preset.Width : CustomWidth;
    public int Height => SizeMode == SizeMode.Preset ? Preset.Height : CustomHeight;

    /// <summary>Set when a typed custom side was changed to fit the model: (typed, used) for width then height.</summary>
    public (int Typed, int Used)? WidthSnap => SizeMode == SizeMode.Custom && WidthTyped is { } t && t != CustomWidth ? (t, CustomWidth) : null;
    public (int Typed, int Used)? HeightSnap => SizeMode == SizeMode.Custom && HeightTyped is { } t && t != CustomHeight ? (t, CustomHeight) : null;
    public bool SnapNote => WidthSnap is not null || HeightSnap is not null;

    public SeedMode SeedMode { get; set; } = SeedMode.Random;

    public long? FixedSeed
    {
        get => _fixedSeed;
        set => _fixedSeed = value is null ? null : Math.Clamp(value.Value, GenerationLimits.MinSeed, GenerationLimits.MaxSeed);
    }

    /// <summary>The seed of this person's latest finished picture; "reuse last" uses it.</summary>
    public long? LastSeed { get; set; }

    /// <summary>The dice: a fresh fixed seed the person can see and keep.</summary>
    public void RollSeed(Random random)
    {
        FixedSeed = random.NextInt64(GenerationLimits.MinSeed, GenerationLimits.MaxSeed + 1);
        SeedMode = SeedMode.Fixed;
    }

    /// <summary>Problems the form can know before asking the server.</summary>
    public IReadOnlyList<FormProblem> Check()
    {
        var problems = new List<FormProblem>();
        if (string.IsNullOrWhiteSpace(Prompt))
            problems.Add(new("prompt", "gen.problem.promptRequired"));
        if (SeedMode == SeedMode.Fixed && FixedSeed is null)
            problems.Add(new("seed", "gen.problem.seedRequired"));
        if (SeedMode == SeedMode.ReuseLast && LastSeed is null)
            problems.Add(new("seed", "gen.problem.noLastSeed"));
        return problems;
    }

    /// <summary>The seed the form asks for; null leaves it to the server (random).</summary>
    public long? ChosenSeed => SeedMode switch
    {
        SeedMode.Fixed => FixedSeed,
        SeedMode.ReuseLast => LastSeed,
        _ => null,
    };

    /// <summary>The settings as the form shows them (seed 0 when the server is to choose one).</summary>
    public GenerationRequest ToSettings() => _base with
    {
        Prompt = Prompt.Trim(),
        NegativePrompt = NegativePrompt.Trim(),
        Width = Width,
        Height = Height,
        Steps = Steps,
        Cfg = Cfg,
        Seed = ChosenSeed ?? 0,
        Count = Count,
        Style = Style,
    };

    public JobRequest ToJobRequest(string idempotencyKey) => new()
    {
        Settings = ToSettings(),
        SeedPolicy = ChosenSeed is null ? SeedPolicy.Random : SeedPolicy.Fixed,
        IdempotencyKey = idempotencyKey,
    };

    /// <summary>"Reuse settings": every parameter of a past picture, its seed fixed.</summary>
    public void LoadFrom(GenerationRequest request, bool includeSeed = true)
    {
        _base = request;
        Prompt = request.Prompt;
        NegativePrompt = request.NegativePrompt;
        Style = request.Style;
        Steps = request.Steps;
        Cfg = request.Cfg;
        Count = request.Count;
        SetSize(request.Width, request.Height);
        if (includeSeed)
            UseSeed(request.Seed);
    }

    public void UseSeed(long seed)
    {
        FixedSeed = seed;
        SeedMode = SeedMode.Fixed;
    }

    public void SetSize(int width, int height)
    {
        if (SizePresets.Find(width, height) is { } preset)
        {
            Preset = preset;
            SizeMode = SizeMode.Preset;
        }
        else
        {
            CustomWidth = width;
            CustomHeight = height;
            SizeMode = SizeMode.Custom;
        }
    }

    /// <summary>The defaults for new pictures: every setting but the prompt and the seed mode.</summary>
    public void ApplyDefaults(GenerationRequest defaults)
    {
        _base = defaults;
        Steps = defaults.Steps;
        Cfg = defaults.Cfg;
        Count = defaults.Count;
        NegativePrompt = defaults.NegativePrompt;
        SetSize(SizeRules.Snap(defaults.Width), SizeRules.Snap(defaults.Height));
    }
}

/// <param name="TextKey">A <see cref="I18n.UiText"/> key: the message is shown in the person's language.</param>
public sealed record FormProblem(string Field, string TextKey);
