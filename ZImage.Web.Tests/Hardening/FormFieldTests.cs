using System.Net;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// The forms' fields fed the same hostile values as the API: the Generate form and the Settings form (their state
/// classes, which the Blazor components bind), and the sign-in and first-administrator form posts. A value is
/// either brought into range by the field itself or named in a problem; nothing throws, nothing answers 5xx.
/// </summary>
public sealed class FormFieldTests(StrictlyFreshAccountsFactory factory, ITestOutputHelper output) : IClassFixture<StrictlyFreshAccountsFactory>
{
    private static readonly int[] Integers = [int.MinValue, -1, 0, 1, 15, 17, 255, 2049, 4096, 100_000, int.MaxValue];
    private static readonly float[] Floats = [float.NaN, float.NegativeInfinity, float.PositiveInfinity, float.MinValue, -0.0001f, 10.0001f, float.MaxValue, float.Epsilon];
    private static readonly string[] Strings =
    [
        new('a', 1_000_000), "\0", "\u0001\u001b[2J", "line\r\nbreak", "../../../../etc/passwd", "C:\\Windows", "\ud800", "\u202Eevil", "   ", "", "😀",
        new('n', 10_001), "<script>alert(1)</script>", "%00", "/proc/self/mem",
    ];

    [Fact]
    public void EveryGenerateFieldClampsOrIsNamed()
    {
        var tried = 0;
        var failures = new List<string>();
        void Try(string field, Action<GenerateForm> set)
        {
            tried++;
            var form = new GenerateForm { Prompt = "a fox" };
            set(form);
            var named = form.Check().Select(p => p.Field).ToHashSet();
            // What the form lets through must pass the engine's limits, or the engine names the field the person sees.
            var engine = form.Check().Count == 0
                ? (form.ToSettings() with { Seed = form.FixedSeed ?? 1 }).Validate().Select(p => p.Field).ToHashSet()
                : [];
            if ((engine.Count > 0 || named.Count > 0) && !named.Contains(field) && !engine.Contains(field) && !(field is "customWidth" or "customHeight" && (engine.Contains("width") || engine.Contains("height"))))
                failures.Add($"{field}: problems name {string.Join(",", named.Concat(engine))}");
        }
        foreach (var v in Integers)
        {
            Try("steps", f => f.Steps = v);
            Try("count", f => f.Count = v);
            Try("customWidth", f => { f.SizeMode = SizeMode.Custom; f.CustomWidth = v; });
            Try("customHeight", f => { f.SizeMode = SizeMode.Custom; f.CustomHeight = v; });
            Try("seed", f => { f.SeedMode = SeedMode.Fixed; f.FixedSeed = v; });
        }
        foreach (var v in new[] { long.MinValue, long.MaxValue, uint.MaxValue + 1L })
            Try("seed", f => { f.SeedMode = SeedMode.Fixed; f.FixedSeed = v; });
        foreach (var v in Floats)
            Try("cfg", f => f.Cfg = v);
        foreach (var v in Strings)
        {
            Try("prompt", f => f.Prompt = v);
            Try("negativePrompt", f => f.NegativePrompt = v);
        }
        Try("seed", f => f.SeedMode = SeedMode.ReuseLast);
        Try("seed", f => { f.SeedMode = SeedMode.Fixed; f.FixedSeed = null; });
        output.WriteLine($"{tried} Generate form values tried; {failures.Count} broke the rule");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void EverySettingsFieldIsNamedWhenWrong()
    {
        var root = Directory.CreateTempSubdirectory("zimage-settings-fuzz-").FullName;
        try
        {
            var paths = new StudioPaths(new ConfigurationBuilder().Build(), root);
            var tried = 0;
            var failures = new List<string>();
            void Try(string field, Action<SettingsForm> set, bool mustBeNamed)
            {
                tried++;
                var form = new SettingsForm { OutputDirectory = Path.Combine(root, "outputs") };
                set(form);
                IReadOnlyList<SettingsProblem> problems;
                try
                {
                    problems = form.Validate(paths.Resolve);
                }
                catch (Exception e)
                {
                    failures.Add($"{field}: Validate threw {e.GetType().Name}: {e.Message}");
                    return;
                }
                var named = problems.Select(p => p.Field).ToHashSet();
                if (mustBeNamed ? !named.Contains(field) : named.Count > 0 && !named.Contains(field))
                    failures.Add($"{field}: problems name [{string.Join(",", named)}]");
            }
            foreach (var v in Integers)
            {
                Try(nameof(SettingsForm.SafetyMarginMiB), f => f.SafetyMarginMiB = v, v is < 0 or > Engine.Memory.VramOptions.MaxSafetyMarginMiB);
                Try(nameof(SettingsForm.MaxQueuedPerUser), f => { f.MaxQueuedPerUser = v; f.MaxQueuedTotal = 100_000; }, v is < 1 or > 1000);
                Try(nameof(SettingsForm.MaxQueuedTotal), f => { f.MaxQueuedTotal = v; f.MaxQueuedPerUser = 1; }, v is < 1 or > 100_000);
                Try(nameof(SettingsForm.RetentionDays), f => f.RetentionDays = v, v is < 0 or > 36500);
                Try("DefaultSteps", f => f.Defaults = f.Defaults with { Steps = v }, v is < GenerationLimits.MinSteps or > GenerationLimits.MaxSteps);
                Try("DefaultCount", f => f.Defaults = f.Defaults with { Count = v }, v is < GenerationLimits.MinCount or > GenerationLimits.MaxCount);
                Try("DefaultWidth", f => f.Defaults = f.Defaults with { Width = v }, v is < GenerationLimits.MinSide or > GenerationLimits.MaxSide || v % 16 != 0);
                Try("DefaultHeight", f => f.Defaults = f.Defaults with { Height = v }, v is < GenerationLimits.MinSide or > GenerationLimits.MaxSide || v % 16 != 0);
            }
            foreach (var v in Floats)
                Try("DefaultCfg", f => f.Defaults = f.Defaults with { Cfg = v }, !(v >= 0 && v <= 10));
            foreach (var v in Strings)
            {
                Try(nameof(SettingsForm.ExecutionProvider), f => f.ExecutionProvider = v, true);
                Try("DefaultNegativePrompt", f => f.Defaults = f.Defaults with { NegativePrompt = v }, v.Length > GenerationLimits.MaxPromptChars);
                Try(nameof(SettingsForm.OutputDirectory), f => f.OutputDirectory = v, false);
                Try(nameof(SettingsForm.ModelDirectory), f => f.ModelDirectory = v, false);
            }
            Try(nameof(SettingsForm.Residency), f => f.Residency = (Engine.Memory.ResidencyPolicy)42, true);
            Try(nameof(SettingsForm.OutputDirectory), f => f.OutputDirectory = "/proc/self/nope", true);
            output.WriteLine($"{tried} Settings form values tried; {failures.Count} broke the rule");
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task SignInAndFirstAdministratorFormsNeverFailOnHostileFields()
    {
        var tried = 0;
        var failures = new List<string>();
        foreach (var path in new[] { "/ui/signin", "/ui/setup-admin" })
        {
            foreach (var field in new[] { "name", "password", "returnUrl" })
            {
                foreach (var value in Strings.Where(s => s.Length < 100_000).Concat(["//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"]))
                {
                    tried++;
                    using var browser = factory.Browser();
                    var form = new Dictionary<string, string>
                    {
                        // Fuzzing the password of the first-run form with a usable name would make an administrator.
                        ["name"] = field == "name" ? value : path == "/ui/setup-admin" ? "\u0001" : "nobody",
                        ["password"] = field == "password" ? value : "x",
                        ["returnUrl"] = field == "returnUrl" ? value : "/",
                        ["__RequestVerificationToken"] = await AccountsStudioFactory.AntiforgeryTokenAsync(browser),
                    };
                    using var response = await browser.PostAsync(path, new FormUrlEncodedContent(form));
                    var location = response.Headers.Location?.ToString() ?? "";
                    // Every refusal sends the person back to the sign-in page with an error, on this site only. A NUL
                    // (which no keyboard types) makes the framework's form reader refuse the whole post: 400.
                    var refusedByReader = value.Contains('\0') && response.StatusCode == HttpStatusCode.BadRequest;
                    if (!refusedByReader && (response.StatusCode != HttpStatusCode.Redirect || !location.StartsWith("/signin?error=", StringComparison.Ordinal)))
                        failures.Add($"{path} {field}={value[..Math.Min(20, value.Length)]}: {(int)response.StatusCode} -> {location}");
                }
            }
        }
        // A 1 MB field: refused by the form reader or by the rules, never a 5xx.
        tried++;
        using (var browser = factory.Browser())
        {
            var token = await AccountsStudioFactory.AntiforgeryTokenAsync(browser);
            using var response = await browser.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["name"] = Strings[0], ["password"] = "x", ["__RequestVerificationToken"] = token,
            }));
            if ((int)response.StatusCode >= 500)
                failures.Add($"1 MB name: {(int)response.StatusCode}");
        }
        output.WriteLine($"{tried} form posts tried; {failures.Count} broke the rule");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // None of it made an administrator: the first-run form still offers itself.
        Assert.Contains("ui/setup-admin", await factory.Browser().GetStringAsync("/signin"));
    }
}

/// <summary>Accounts mode with no account yet (the first-run form is live), and no practical sign-in limit.</summary>
public sealed class StrictlyFreshAccountsFactory : AccountsStudioFactory;
