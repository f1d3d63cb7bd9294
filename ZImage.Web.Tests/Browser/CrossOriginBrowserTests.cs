using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ZImage.Web.Tests.Hardening;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// Issue #15 item 2, in Chromium: a page on another loopback origin (another port of the same host is "same-site",
/// so the person's name cookie travels with its requests) tries the attacks that worked before: a no-cors fetch of
/// a Blob body to queue a job, a text/plain form that smuggles JSON, and a plain form POST to interrupt.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class CrossOriginBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    private const string AttackScript = """
        async (studio) => {
          const job = JSON.stringify({ prompt: 'forged by another origin', width: 256, height: 256, steps: 2 });
          await fetch(studio + 'api/v1/jobs', { method: 'POST', mode: 'no-cors', credentials: 'include', body: new Blob([job]) }).catch(() => {});
          const post = (action, fields, enctype) => new Promise(resolve => {
            const sink = document.createElement('iframe');
            sink.name = 'sink' + Math.random().toString(36).slice(2);
            document.body.appendChild(sink);
            const form = document.createElement('form');
            form.method = 'POST'; form.action = studio + action; form.target = sink.name;
            if (enctype) form.enctype = enctype;
            for (const [name, value] of fields) {
              const input = document.createElement('input');
              input.type = 'hidden'; input.name = name; input.value = value;
              form.appendChild(input);
            }
            document.body.appendChild(form);
            sink.onload = resolve;
            setTimeout(resolve, 5000);
            form.submit();
          });
          // {"prompt":"forged by a form","x":"="} as the body of a text/plain form.
          await post('api/v1/jobs', [['{"prompt":"forged by a form","width":256,"height":256,"steps":2,"x":"', '"}']], 'text/plain');
          await post('sdapi/v1/interrupt', [], null);
          return true;
        }
        """;

    private static async Task<WebApplication> HostilePageAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/cats.html", () => Results.Content("<!DOCTYPE html><html><body><p>cute cats</p></body></html>", "text/html"));
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task APageOnAnotherLoopbackOriginCanNeitherQueueNorCancel()
    {
        var studio = new Uri(server.BaseUrl);
        // A real server on another loopback port: Chromium lets a page served from loopback talk to loopback.
        await using var hostile = await HostilePageAsync();
        var attacker = hostile.Urls.Single().Replace("localhost", studio.Host, StringComparison.Ordinal) + "/";
        await using var victim = await server.NewPersonAsync();
        await victim.ArriveAsAsync("Victim");
        using var script = new HttpClient { BaseAddress = studio };
        script.DefaultRequestHeaders.Add("X-ZImage-User", "Victim");

        server.Pipeline.Hold();
        try
        {
            var running = await script.SubmitAsync(new { prompt = "the victim's own picture", width = 256, height = 256, steps = 4 });
            var id = running.GetProperty("id").GetString()!;
            await script.WaitForJobAsync(id, j => j.Status() == "running", "running");

            // The hostile page, served under another origin of the same host; the victim's browser visits it.
            var answers = new List<(string Url, int Status)>();
            victim.Page.Response += (_, r) =>
            {
                if (r.Url.StartsWith(server.BaseUrl, StringComparison.Ordinal))
                    lock (answers)
                        answers.Add((r.Url, r.Status));
            };
            await victim.Page.GotoAsync(attacker + "cats.html");
            await victim.Page.EvaluateAsync<bool>(AttackScript, server.BaseUrl);

            // Every attempt reached the studio and was refused.
            lock (answers)
            {
                Assert.True(answers.Count >= 3, $"the attacks did not reach the studio: {string.Join(", ", answers)}");
                Assert.All(answers, a => Assert.True(a.Status == 403, $"{a.Url} answered {a.Status}"));
            }
            var jobs = await (await script.GetAsync("api/v1/jobs")).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal([id], jobs.EnumerateArray().Select(j => j.GetProperty("id").GetString()));
            Assert.Equal("running", (await script.JobAsync(id)).Status());

            // The studio's own page, in the same browser, still queues and cancels: the refusal is about the origin only.
            await victim.OpenAsync("/");
            var own = await victim.Page.EvaluateAsync<int[]>("""
                async () => {
                  const made = await fetch('api/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ prompt: 'from the studio page', width: 256, height: 256, steps: 2 }) });
                  const job = await made.json();
                  const cancelled = await fetch('api/v1/jobs/' + job.id, { method: 'DELETE' });
                  return [made.status, cancelled.status];
                }
                """);
            Assert.Equal([202, 200], own);
        }
        finally
        {
            server.Pipeline.Release();
        }
    }

    /// <summary>
    /// The pages' Content-Security-Policy is real (no 'unsafe-eval', scripts from this origin only) and the studio works
    /// under it: the circuit starts, a click is answered, a picture is made and shown, and the browser reports no
    /// violation on any tab.
    /// </summary>
    [Fact]
    public async Task ThePagesRunUnderTheirContentSecurityPolicyWithoutAViolation()
    {
        await using var ann = await server.NewPersonAsync();
        await ann.Context.AddInitScriptAsync("""
            window.__csp = [];
            document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
            """);
        var violations = new List<string>();
        ann.Page.Console += (_, m) =>
        {
            if (m.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || m.Text.Contains("Refused to", StringComparison.Ordinal))
                lock (violations)
                    violations.Add(m.Text);
        };
        string? policy = null;
        ann.Page.Response += (_, r) =>
        {
            if (r.Request.ResourceType == "document" && r.Headers.TryGetValue("content-security-policy", out var p))
                policy = p;
        };

        await ann.ArriveAsAsync("Csp");
        Assert.NotNull(policy);
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-eval", policy);
        Assert.Contains("frame-ancestors 'none'", policy);

        await ann.Page.Locator("#prompt").FillAsync("a picture under a strict policy");
        await ann.Page.Locator("#generate").ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(ann.Page.Locator("img[src*='ui/images/']").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var seen = new List<string>();
        foreach (var path in new[] { "/history", "/settings", "/" })
        {
            await ann.OpenAsync(path);
            seen.AddRange(await ann.Page.EvaluateAsync<string[]>("() => window.__csp"));
        }
        lock (violations)
            seen.AddRange(violations);
        Assert.True(seen.Count == 0, "CSP violations:\n" + string.Join("\n", seen));
        Assert.Empty(ann.Errors);
    }
}

/// <summary>Issue #15 item 1 for a page left open: the live circuit ends when its person is removed.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class AccountsCircuitTests(AccountsStudioServer server) : IClassFixture<AccountsStudioServer>
{
    [Fact]
    public async Task AnOpenGeneratePageStopsWorkingOnceItsPersonIsRemoved()
    {
        var accounts = server.Services.GetRequiredService<ZImage.Web.Ui.Identity.AccountStore>();
        var jobs = server.Services.GetRequiredService<ZImage.Engine.Jobs.IJobService>();
        var me = new Caller("leaver-tab");
        Assert.Empty(await accounts.CreateAsync("root", "a long password", isAdmin: true));
        Assert.Empty(await accounts.CreateAsync("leaver-tab", "a long password", isAdmin: false));

        await using var person = await server.NewPersonAsync();
        var page = person.Page;
        await page.GotoAsync("/signin");
        await page.Locator("#account-name").FillAsync("leaver-tab");
        await page.Locator("#account-password").FillAsync("a long password");
        await page.Locator("#signin").ClickAsync();
        await page.Locator("html[data-zi-interactive]").WaitForAsync(new() { State = WaitForSelectorState.Attached });

        // While the account stands, the tab works.
        await page.Locator("#prompt").FillAsync("before removal");
        await page.Locator("#generate").ClickAsync();
        await ZImage.Web.Tests.Api.ApiTestExtensions.WaitUntilAsync(async () => (await jobs.ListMineAsync(me, 10)).Count == 1, "the first job");

        Assert.True(await accounts.DeleteAsync("leaver-tab"));
        await page.Locator("#prompt").FillAsync("after removal");
        await page.Locator("#generate").ClickAsync(new() { Timeout = 5000 }).ContinueWith(_ => { });
        // The click is refused and the circuit ends: blazor.web.js shows the page's "this page stopped" notice. Once it
        // shows, that page can send nothing more, so the count below is final (a fixed wait could only pass too early).
        await page.Locator("#blazor-error-ui").WaitForAsync(new() { State = WaitForSelectorState.Visible });
        Assert.Contains("you were signed out", await page.Locator("#blazor-error-ui").InnerTextAsync());
        Assert.Single(await jobs.ListMineAsync(me, 10));
        // Its Reload goes to the sign-in page.
        await page.Locator("#ended-reload").ClickAsync();
        await page.Locator("#account-name").WaitForAsync();
        Assert.Contains("/signin", page.Url);
    }
}
