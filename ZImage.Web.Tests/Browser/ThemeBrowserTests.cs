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
    /// <summary>An element's text colour, then the background colours behind it from its own outwards.</summary>
    private const string Colours = """
        (selector) => {
            const el = document.querySelector(selector);
            const layers = [];
            for (let e = el; e; e = e.parentElement) {
                const bg = getComputedStyle(e).backgroundColor;
                if (bg && bg !== 'transparent' && bg !== 'rgba(0, 0, 0, 0)') layers.push(bg);
            }
            return [getComputedStyle(el).color, ...layers];
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
