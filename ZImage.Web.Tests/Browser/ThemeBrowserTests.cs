using Microsoft.Playwright;
using Contrast = ZImage.Web.Tests.Kit.Contrast;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// Contrast as the browser paints it, in light and dark: the colours CSS gives the model check box, the active "Fixed"
/// seed button (also under the pointer), the reconnect dialog and the page's own text, measured from computed styles
/// at 4.5:1 or better; and the theme picked in the header is still the theme after a reload.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class ThemeBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    /// <summary>
    /// In the page: a colour as the browser computes it, as "rgba(r,g,b,a)" (a 1×1 canvas paints it, so color-mix and
    /// color(srgb …) results read like any other), and an element's text colour followed by the backgrounds behind it,
    /// from its own outwards.
    /// </summary>
    private const string Helpers = """
        const canvas = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
        const rgba = c => { canvas.clearRect(0, 0, 1, 1); canvas.fillStyle = c; canvas.fillRect(0, 0, 1, 1); const d = canvas.getImageData(0, 0, 1, 1).data; return `rgba(${d[0]},${d[1]},${d[2]},${(d[3] / 255).toFixed(3)})`; };
        const colours = el => {
            const layers = [];
            for (let e = el; e; e = e.parentElement) {
                const bg = getComputedStyle(e).backgroundColor;
                if (bg && bg !== 'transparent' && bg !== 'rgba(0, 0, 0, 0)') layers.push(rgba(bg));
            }
            return [rgba(getComputedStyle(el).color), ...layers];
        };
        """;

    private const string Colours = "(selector) => { " + Helpers + " return colours(document.querySelector(selector)); }";

    /// <summary>Every element with visible text of its own (disabled controls aside: WCAG exempts them): what it says, then its colours.</summary>
    private const string AllTexts = "() => { " + Helpers + """
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const seen = new Set();
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (!n.textContent.trim() || !el || seen.has(el)) continue;
            seen.add(el);
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0 || el.closest(':disabled, [aria-disabled="true"], .mud-disabled')) continue;
            let shown = true;
            for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e); if (c.visibility === 'hidden' || c.display === 'none' || parseFloat(c.opacity) < 1) shown = false; }
            if (shown) out.push([el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + n.textContent.trim().slice(0, 40) + '"', ...colours(el)]);
        }
        return out;
    }
    """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TextReadsAtLeastFourAndAHalfToOneWhereTheDarkModeFixesWere(bool dark)
    {
        await using var person = await server.NewPersonAsync();
        await person.Context.AddCookiesAsync([
            new Cookie { Name = "zi-theme", Value = dark ? "dark" : "light", Url = server.BaseUrl },
            new Cookie { Name = "zi-user", Value = "Ann", Url = server.BaseUrl },
        ]);
        var page = person.Page;
        var measured = new List<(string Where, double Ratio)>();
        async Task MeasureAsync(string where, string selector)
        {
            var colours = await page.EvaluateAsync<string[]>(Colours, selector);
            measured.Add(($"{where} ({string.Join(" on ", colours)})", Contrast.Ratio(colours[0], colours[1..])));
        }

        await person.OpenAsync("/settings");
        await MeasureAsync("body text", ".zi-panel h2");
        await MeasureAsync("model check box", "#model-health");
        await MeasureAsync("model check box state", "#model-health .zi-health-state");

        await person.OpenAsync("/");
        await page.Locator("#advanced .mud-expand-panel-header").ClickAsync();
        await page.Locator("#seed-fixed").ClickAsync();
        await Expect(page.Locator("#seed-fixed")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
        await page.Mouse.MoveAsync(0, 0);
        await MeasureAsync("active Fixed seed button", "#seed-fixed");
        await page.Locator("#seed-fixed").HoverAsync();
        await MeasureAsync("active Fixed seed button under the pointer", "#seed-fixed");
        await page.Locator("#seed-random").HoverAsync();
        await MeasureAsync("Random seed button under the pointer", "#seed-random");

        // blazor.web.js shows the dialog by marking it; the test marks it the same way.
        await page.EvaluateAsync("() => document.getElementById('components-reconnect-modal').classList.add('components-reconnect-failed')");
        await Expect(page.Locator("#reconnect-retry")).ToBeVisibleAsync();
        await MeasureAsync("reconnect dialog text", ".zi-reconnect-card p.zi-reconnect-failed");
        await MeasureAsync("reconnect dialog Retry", "#reconnect-retry .mud-button-label");
        await page.Locator("#reconnect-retry").HoverAsync();
        await MeasureAsync("reconnect dialog Retry under the pointer", "#reconnect-retry .mud-button-label");

        var tooFaint = measured.Where(m => m.Ratio < Contrast.Minimum).Select(m => $"{m.Where}: {m.Ratio:0.00}:1").ToList();
        Assert.True(tooFaint.Count == 0, $"{(dark ? "dark" : "light")}: {string.Join("; ", tooFaint)}");
        Assert.Equal(9, measured.Count);
        Assert.Empty(person.Errors);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryTextOnEveryTabReadsAtLeastFourAndAHalfToOne(bool dark)
    {
        await using var person = await server.NewPersonAsync();
        await person.Context.AddCookiesAsync([
            new Cookie { Name = "zi-theme", Value = dark ? "dark" : "light", Url = server.BaseUrl },
            new Cookie { Name = "zi-user", Value = "Ann", Url = server.BaseUrl },
        ]);
        var tooFaint = new List<string>();
        var read = 0;
        foreach (var path in new[] { "/", "/history", "/batches", "/usage", "/settings" })
        {
            await person.OpenAsync(path);
            foreach (var text in await person.Page.EvaluateAsync<string[][]>(AllTexts))
            {
                read++;
                var ratio = Contrast.Ratio(text[1], text[2..]);
                if (ratio < Contrast.Minimum)
                    tooFaint.Add($"{path} {text[0]}: {ratio:0.00}:1 ({string.Join(" on ", text[1..])})");
            }
        }
        Assert.True(tooFaint.Count == 0, $"{(dark ? "dark" : "light")}:\n{string.Join("\n", tooFaint)}");
        Assert.True(read > 100, $"only {read} texts were read");
        Assert.Empty(person.Errors);
    }

    [Fact]
    public async Task TheThemePickedInTheHeaderIsStillTheThemeAfterAReload()
    {
        await using var person = await server.NewPersonAsync();
        await person.ArriveAsAsync("Ann");
        var background = () => person.Page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor");
        var light = await background();

        await person.Page.Locator("#theme-toggle").ClickAsync();
        await Expect(person.Page.Locator("#theme-toggle")).ToHaveAttributeAsync("title", "Switch to light theme");
        var dark = await background();
        Assert.NotEqual(light, dark);

        await person.OpenAsync("/history");
        Assert.Equal(dark, await background());
        await person.Page.ReloadAsync();
        Assert.Equal(dark, await background());

        await person.Page.Locator("html[data-zi-interactive]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await person.Page.Locator("#theme-toggle").ClickAsync();
        await Expect(person.Page.Locator("#theme-toggle")).ToHaveAttributeAsync("title", "Switch to dark theme");
        await person.Page.ReloadAsync();
        Assert.Equal(light, await background());
        Assert.Empty(person.Errors);
    }
}
