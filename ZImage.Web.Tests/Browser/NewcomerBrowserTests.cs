using System.Diagnostics;
using Microsoft.Playwright;
using Xunit.Abstractions;
using ZImage.Tools.Load;
using ZImage.Web.Tests.Kit;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// The newcomer's path, from a checkout laid out like a fresh clone (the tracked files only: no tokenizer.json in the
/// committed self-test model, no data folder): the app runs with the clone's ZImage.Web/ as its content root and
/// working directory, as <c>dotnet run --project ZImage.Web</c> does, and keeps its default data folder. No model →
/// Settings → the self-test model → Generate → a picture; afterwards <c>git status</c> in the clone is clean.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class NewcomerBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-newcomer-").FullName;
    private string Clone => Path.Combine(_root, "clone");

    public Task InitializeAsync()
    {
        // The tracked files, as `git clone` would give them, in a repository of their own.
        var repository = Git(TestFolders.RepositoryRoot() ?? throw new InvalidOperationException("no checkout (ZImage.sln) above the test output"), "rev-parse", "--show-toplevel").Trim();
        // Distinct: during a merge a conflicted file is listed once per stage.
        foreach (var file in Git(repository, "ls-files", "-z").Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct())
        {
            var from = Path.Combine(repository, file);
            if (!File.Exists(from))
                continue; // deleted in the working tree but not yet committed
            var to = Path.Combine(Clone, file);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
        }
        Git(Clone, "init", "-q");
        Git(Clone, "add", "-A");
        Git(Clone, "-c", "user.name=newcomer", "-c", "user.email=newcomer@example.com", "commit", "-q", "-m", "clone");
        return Task.CompletedTask;
    }

    [Fact]
    public async Task FromAFreshCloneTheSelfTestModelMakesAPictureAndTheCloneStaysClean()
    {
        Assert.False(File.Exists(Path.Combine(Clone, "models", "self-test-tiny", "tokenizer", "tokenizer.json")), "the clone should lack the git-ignored tokenizer.json");
        ServerProcess? server = null;
        try
        {
            // Nothing but the content root: the newcomer's defaults decide the data folder, the model and the provider.
            server = await ServerProcess.StartAsync(Path.Combine(_root, "logs"), new Dictionary<string, string>(), RealServerTimeout,
                contentRoot: Path.Combine(Clone, "ZImage.Web"));
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = StudioServer.ChromiumPath,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
            await using var newcomer = new Person(context, await context.NewPageAsync());
            var page = newcomer.Page;

            await newcomer.ArriveAsAsync("Mei");
            await Expect(page.Locator("#no-model")).ToBeVisibleAsync();

            await newcomer.OpenAsync("/settings");
            await page.Locator("#self-test-use").ClickAsync();
            await Expect(page.Locator("#model-health")).ToContainTextAsync("The model folder looks complete.");
            await page.Locator("#settings-save").ClickAsync();
            await Expect(page.Locator("#settings-saved")).ToBeVisibleAsync();
            await Expect(page.Locator("#settings-problems")).ToHaveCountAsync(0);
            await Expect(page.Locator("#install")).ToContainTextAsync("Install Z-Image-Turbo");
            await newcomer.ScreenshotAsync("newcomer-settings-1366x768");

            await newcomer.OpenAsync("/");
            await Expect(page.Locator("#self-test-model")).ToBeVisibleAsync();
            await Expect(page.Locator("#model-unusable")).ToHaveCountAsync(0);
            await page.Locator("#prompt").FillAsync("a lighthouse at dusk");
            await page.Locator("#size-custom").ClickAsync();
            await page.Locator("#custom-width input").FillAsync("256");
            await page.Locator("#custom-width input").PressAsync("Tab");
            await page.Locator("#custom-height input").FillAsync("256");
            await page.Locator("#custom-height input").PressAsync("Tab");
            await page.Locator("#generate").ClickAsync();
            await Expect(page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 90_000 });
            var picture = page.Locator("#results .zi-tile img").First;
            await Expect(picture).ToHaveJSPropertyAsync("complete", true);
            Assert.True(await picture.EvaluateAsync<int>("img => img.naturalWidth") > 0);
            await newcomer.ScreenshotAsync("newcomer-first-picture-1366x768");
            Assert.True(newcomer.Errors.Count == 0, string.Join("\n", newcomer.Errors));
        }
        finally
        {
            if (server is not null)
            {
                output.WriteLine(server.Tail);
                await server.DisposeAsync();
            }
        }

        // Everything the run wrote is in the one documented data folder, which the clone ignores.
        var data = Path.Combine(Clone, "ZImage.Web", "data");
        Assert.True(File.Exists(Path.Combine(data, "zimage.db")));
        Assert.True(File.Exists(Path.Combine(data, "settings.json")));
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data, "pictures"), "*.png", SearchOption.AllDirectories));
        Assert.Equal("", Git(Clone, "status", "--porcelain"));
    }

    private static readonly TimeSpan RealServerTimeout = TimeSpan.FromSeconds(90);

    private static string Git(string folder, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var git = Process.Start(info)!;
        var text = git.StandardOutput.ReadToEnd();
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? text : throw new InvalidOperationException($"git {string.Join(' ', args)} failed in {folder}: {error}");
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }
}
