using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Tests.Kit;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>The History cards' own buttons and the bulk actions in a real browser, checked against the store.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class HistoryCardBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task ACardStarsItsPictureAndTheSelectionIsDeletedAfterConfirmation()
    {
        await using var gil = await server.NewPersonAsync();
        await gil.ArriveAsAsync("Gil");
        await gil.Page.Locator("#prompt").FillAsync("two herons at dawn");
        await gil.Page.Locator("#count-2").ClickAsync();
        await gil.Page.Locator("#generate").ClickAsync();
        await Expect(gil.Page.Locator("#results .zi-tile")).ToHaveCountAsync(2, new() { Timeout = 20_000 });

        await gil.OpenAsync("/history");
        var cards = gil.Page.Locator("#history-grid .zi-tile");
        await Expect(cards).ToHaveCountAsync(2);
        await Expect(cards.First.Locator(".zi-picture-time")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+\.\d s$"));

        var history = server.Services.GetRequiredService<IHistoryService>();
        var first = long.Parse((await cards.First.GetAttributeAsync("data-image"))!);
        await cards.First.Locator(".zi-tile-favourite-button").ClickAsync();
        await Expect(cards.First.Locator(".zi-tile-favourite-button")).ToHaveAttributeAsync("aria-pressed", "true");
        Assert.True((await history.GetImageAsync(first))!.Favourite);

        await cards.Nth(0).Locator(".zi-tile-check input").CheckAsync();
        await cards.Nth(1).Locator(".zi-tile-check input").CheckAsync();
        await gil.Page.Locator("#delete-selected").ClickAsync();
        await Expect(gil.Page.Locator("#bulk-delete-confirm")).ToContainTextAsync("Delete 2 pictures for good?");
        await gil.Page.Locator("#bulk-delete-yes").ClickAsync();

        await Expect(gil.Page.Locator("#history-empty")).ToBeVisibleAsync();
        Assert.Equal(0, (await history.QueryAsync(new HistoryQuery { UserName = "Gil" })).TotalCount);
        Assert.Empty(gil.Errors);
    }
}
