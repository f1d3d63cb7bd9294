using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// Two people in an open (team) studio, in real browsers: with "share my pictures with the team" off neither finds the
/// other's pictures in History → Everyone; turned on, both do. And a third person who types a name already in use is
/// warned before becoming that person. The About dialog opens from the header.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class PeopleBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task TwoPeopleWithSharingOffDoNotSeeEachOthersPicturesInHistoryAndWithItOnTheyDo()
    {
        await using var hana = await server.NewPersonAsync();
        await using var ivo = await server.NewPersonAsync(locale: "zh-CN");
        await hana.ArriveAsAsync("Hana");
        await ivo.ArriveAsAsync("Ivo");

        await SetSharingAsync(hana, false);
        await SetSharingAsync(ivo, false);
        await MakePictureAsync(hana, "hana's paper boat");
        await MakePictureAsync(ivo, "ivo's glass owl");

        // Other tests' people share this server (and share by default): the check is about these two pictures only.
        await OpenEveryoneAsync(hana);
        await Expect(hana.Page.Locator("#history-grid")).ToContainTextAsync("hana's paper boat");
        await Expect(hana.Page.Locator("#history-grid")).Not.ToContainTextAsync("ivo's glass owl");
        await OpenEveryoneAsync(ivo);
        await Expect(ivo.Page.Locator("#history-grid")).ToContainTextAsync("ivo's glass owl");
        await Expect(ivo.Page.Locator("#history-grid")).Not.ToContainTextAsync("hana's paper boat");

        await SetSharingAsync(hana, true);
        await SetSharingAsync(ivo, true);

        await OpenEveryoneAsync(hana);
        await Expect(hana.Page.Locator("#history-grid")).ToContainTextAsync("ivo's glass owl");
        await Expect(hana.Page.Locator("#history-grid")).ToContainTextAsync("hana's paper boat");
        await OpenEveryoneAsync(ivo);
        await Expect(ivo.Page.Locator("#history-grid")).ToContainTextAsync("hana's paper boat");
        await Expect(ivo.Page.Locator("#history-grid")).ToContainTextAsync("ivo's glass owl");
        // The other's thumbnail is served now too (the picture files follow the same rule).
        var theirs = ivo.Page.Locator("#history-grid .zi-tile", new() { HasText = "hana's paper boat" }).Locator("img");
        await Expect(theirs).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await theirs.EvaluateAsync<int>("img => img.naturalWidth") > 0, "Hana's thumbnail did not load for Ivo");

        Assert.Empty(hana.Errors);
        Assert.Empty(ivo.Errors);
    }

    [Fact]
    public async Task TypingANameAlreadyInUseWarnsBeforeBecomingThatPerson()
    {
        await using var owner = await server.NewPersonAsync();
        await owner.ArriveAsAsync("Juno");
        await MakePictureAsync(owner, "juno's lantern");

        await using var newcomer = await server.NewPersonAsync(locale: "zh-CN");
        await newcomer.Context.AddCookiesAsync([new Cookie { Name = "zi-lang", Value = "zh-CN", Url = server.BaseUrl }, new Cookie { Name = "zi-theme", Value = "dark", Url = server.BaseUrl }]);
        await newcomer.OpenAsync("/");
        await newcomer.Page.Locator("#display-name").FillAsync("juno");
        await newcomer.Page.Locator("#name-continue").ClickAsync();

        await Expect(newcomer.Page.Locator("#name-taken")).ToBeVisibleAsync();
        await newcomer.ScreenshotAsync("name-taken-1366x768-zh-CN-dark");
        await newcomer.Page.Locator("#name-taken-no").ClickAsync();
        await newcomer.Page.Locator("#display-name").FillAsync("Kit");
        await newcomer.Page.Locator("#name-continue").ClickAsync();
        await Expect(newcomer.Page.Locator("#user-name")).ToContainTextAsync("Kit");

        Assert.Empty(owner.Errors);
        Assert.Empty(newcomer.Errors);
    }

    [Fact]
    public async Task TheAboutDialogOpensFromTheHeaderOnAPhoneInChinese()
    {
        await using var lea = await server.NewPersonAsync(390, 844, "zh-CN");
        await lea.ArriveAsAsync("Lea");
        await lea.Page.Locator("#lang-zh").ClickAsync();

        await lea.Page.Locator("#about").ClickAsync();

        var panel = lea.Page.Locator("#about-panel");
        await Expect(panel).ToBeVisibleAsync();
        await Expect(lea.Page.Locator(".mud-dialog")).ToContainTextAsync("关于 ZImage");
        await Expect(lea.Page.Locator("#about-runtime")).ToContainTextAsync("ONNX Runtime");
        await Expect(lea.Page.Locator("#about-gpu")).ToContainTextAsync("Test GPU");
        await Expect(lea.Page.Locator("#about-dotnet")).ToContainTextAsync(".NET");
        Assert.True(await lea.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the dialog widens the page");
        await lea.ScreenshotAsync("about-390x844-zh-CN");
        await lea.Page.Locator("#about-close").ClickAsync();
        await Expect(panel).ToHaveCountAsync(0);
        Assert.Empty(lea.Errors);
    }

    private static async Task SetSharingAsync(Person person, bool shares)
    {
        await person.Page.Locator("#tab-history").ClickAsync();
        var box = person.Page.Locator("#share-pictures");
        await box.SetCheckedAsync(shares);
        await Expect(box).ToBeCheckedAsync(new() { Checked = shares });
        await Expect(person.Page.Locator("#share-pictures-hint")).ToContainTextAsync(shares ? new System.Text.RegularExpressions.Regex("Others see|其他人可以") : new System.Text.RegularExpressions.Regex("Only you|只有你"));
    }

    private static async Task MakePictureAsync(Person person, string prompt)
    {
        await person.Page.Locator("#tab-generate").ClickAsync();
        await person.Page.Locator("#prompt").FillAsync(prompt);
        await person.Page.Locator("#count-1").ClickAsync();
        await person.Page.Locator("#generate").ClickAsync();
        await Expect(person.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
    }

    private static async Task OpenEveryoneAsync(Person person)
    {
        await person.Page.Locator("#tab-history").ClickAsync();
        await person.Page.Locator("#owner-everyone").ClickAsync();
        await Expect(person.Page.Locator("#owner-everyone")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
    }
}
