using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Routing;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ZImage.Web;
using ZImage.Engine;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Pages;
using ZImage.Web.Ui.History;
using ZImage.Web.Ui.Identity;

namespace ZImage.Tools;

/// <summary>
/// <c>history-bench [--images 10000] [--users 1] [--runs 9] [--folder DIR]</c>: fills a fresh data folder with that many
/// pictures (rows through the real SQLite store, a small real PNG and thumbnail per picture), then renders the History
/// tab's first page the way the server does for its first response (HtmlRenderer over the app's own services), and
/// separately times the query the page runs, also with the "everyone" and search filters. By default every picture is
/// the bench person's, so the tab's default view ("mine") pages over all of them. Prints the first (cold) run and the
/// median, min and max of the rest.
/// </summary>
internal static class HistoryBenchCommand
{
    public const string BenchUser = "Lin";

    private static readonly string[] Subjects =
        ["a red fox", "a paper boat", "a lighthouse", "a tea house", "a cyclist", "an old tram", "a koi pond", "a snow leopard",
         "a street market", "a glass teapot", "a mountain temple", "a robot gardener", "a city at dusk", "a violin on a chair"];
    private static readonly string[] Settings =
        ["in the rain", "at golden hour", "in fog", "under neon signs", "on a quiet morning", "in a watercolour style",
         "as a 35mm photograph", "in the snow", "in soft studio light", "from above"];

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string? created = null;
        try
        {
            var a = new CliArguments(args, new HashSet<string>());
            var images = a.Int("images", 10_000);
            var users = a.Int("users", 1);
            var runs = a.Int("runs", 9);
            var folder = a.String("folder");
            a.RejectUnknown();
            if (images < 1 || users < 1 || runs < 1)
                throw new CliException("--images, --users and --runs must be at least 1");
            if (folder is null)
                folder = created = Directory.CreateTempSubdirectory("zimage-history-bench-").FullName;
            else if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new CliException($"--folder {folder} must be empty or not exist: the bench fills it from scratch");

            await using var app = Build(folder);
            var seed = Stopwatch.StartNew();
            await SeedAsync(app.Services, images, users);
            output.WriteLine($"seeded {images:N0} pictures for {users} people in {seed.Elapsed.TotalSeconds:F1} s ({folder})");

            output.WriteLine($"first page = {HistoryBrowser.PageSize} tiles; times in ms; median/min/max over {runs} runs after the first (cold) one");
            var renders = new List<double>();
            for (var i = 0; i <= runs; i++)
            {
                var (ms, tiles) = await RenderFirstPageAsync(app.Services);
                if (tiles != Math.Min(HistoryBrowser.PageSize, images / users))
                    throw new InvalidOperationException($"the History page rendered {tiles} tiles");
                renders.Add(ms);
            }
            output.WriteLine(Line("render History tab, first page (mine)", renders));

            var scenarios = new (string Name, Action<HistoryBrowser> Set)[]
            {
                ("mine", _ => { }),
                ("everyone", b => b.Owner = HistoryOwner.Everyone),
                ("everyone, search 'lighthouse'", b => { b.Owner = HistoryOwner.Everyone; b.Search = "lighthouse"; }),
                ("everyone, 1024x1024 only", b => { b.Owner = HistoryOwner.Everyone; b.Size = "1024x1024"; }),
            };
            foreach (var (name, set) in scenarios)
            {
                var queries = new List<double>();
                var total = 0;
                for (var i = 0; i <= runs; i++)
                {
                    var (ms, count) = await QueryFirstPageAsync(app.Services, set);
                    queries.Add(ms);
                    total = count;
                }
                output.WriteLine(Line($"query first page, {name} ({total:N0} match)", queries));
            }
            return 0;
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
        finally
        {
            if (created is not null)
            {
                try
                {
                    Directory.Delete(created, recursive: true);
                }
                catch (IOException)
                {
                    // A WAL file still closing; the temp folder is the OS's to clean.
                }
            }
        }
    }

    /// <summary>The app's own registrations (engine + web) over the bench folder; no server is started.</summary>
    private static WebApplication Build(string folder)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = folder, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(folder, "data"),
            ["ZImage:Jobs:OutputDirectory"] = Path.Combine(folder, "outputs"),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddZImageEngine();
        builder.AddZImageWeb();
        return builder.Build();
    }

    /// <summary>
    /// Rows go in as the worker writes them (a job, then its pictures in one transaction), spread over the last year so
    /// date filters and the newest-first order have real work; every row's files exist, as the store's contract demands
    /// (start-up reconciliation would delete rows without them).
    /// </summary>
    private static async Task SeedAsync(IServiceProvider services, int images, int users)
    {
        var store = services.GetRequiredService<IJobStore>();
        var files = services.GetRequiredService<ImageFiles>();
        await services.StartJobsRoomAsync();
        var thumbnail = PngCodec.Encode(Gradient(64, 64));
        var picture = PngCodec.Encode(Gradient(128, 128));
        var random = new Random(1234);
        var now = DateTimeOffset.Now;
        var names = Enumerable.Range(0, users).Select(i => i == 0 ? BenchUser : $"Designer {i + 1}").ToArray();
        var written = 0;
        var job = 0;
        while (written < images)
        {
            var count = Math.Min(images - written, 1 + random.Next(4));
            var at = now.AddMinutes(-(images - written) * 50.0);
            var id = $"bench{job++:D6}";
            var (width, height) = random.Next(3) switch { 0 => (1024, 1024), 1 => (768, 1344), _ => (1344, 768) };
            var request = new GenerationRequest
            {
                Prompt = $"{Subjects[random.Next(Subjects.Length)]} {Settings[random.Next(Settings.Length)]}, detailed, high quality",
                Width = width,
                Height = height,
                Seed = random.NextInt64(0, GenerationLimits.MaxSeed),
                Count = count,
            };
            await store.InsertJobAsync(new JobRecord
            {
                Id = id, UserName = names[job % users], Status = JobStatus.Running, Request = request,
                SubmittedAt = at, StartedAt = at,
            });
            var rows = new List<NewImage>(count);
            for (var i = 0; i < count; i++)
            {
                var (png, thumb) = files.PathsFor(id, i, at.LocalDateTime);
                WriteFile(files.Absolute(png), picture);
                WriteFile(files.Absolute(thumb), thumbnail);
                rows.Add(new NewImage(i, png, thumb, width, height, request.Seed + i, at.AddSeconds(i)));
            }
            await store.CompleteJobAsync(id, at.AddSeconds(count), null, rows, TimeSpan.Zero);
            written += count;
        }
    }

    private static async Task<(double Ms, int Tiles)> RenderFirstPageAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<UiUser>().SignIn(BenchUser, isAdmin: false);
        // What the server does for each request before rendering: forms need the page's address for their action.
        ((IHostEnvironmentNavigationManager)scope.ServiceProvider.GetRequiredService<NavigationManager>())
            .Initialize("http://localhost:7860/", "http://localhost:7860/history");
        await using var renderer = new HtmlRenderer(scope.ServiceProvider, scope.ServiceProvider.GetRequiredService<ILoggerFactory>());
        var clock = Stopwatch.StartNew();
        var html = await renderer.Dispatcher.InvokeAsync(async () =>
            (await renderer.RenderComponentAsync<History>(ParameterView.Empty)).ToHtmlString());
        var ms = clock.Elapsed.TotalMilliseconds;
        return (ms, CountOf(html, "<figure class=\"zi-tile"));
    }

    private static string Line(string what, List<double> ms) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{what}: first {ms[0]:F1}, median {Median(ms.Skip(1)):F1}, min {ms.Skip(1).Min():F1}, max {ms.Skip(1).Max():F1}");

    private static async Task<(double Ms, int Total)> QueryFirstPageAsync(IServiceProvider services, Action<HistoryBrowser> set)
    {
        await using var scope = services.CreateAsyncScope();
        var user = scope.ServiceProvider.GetRequiredService<UiUser>();
        user.SignIn(BenchUser, isAdmin: false);
        var browser = new HistoryBrowser(scope.ServiceProvider.GetRequiredService<IHistoryService>(), user, TimeProvider.System);
        set(browser);
        var clock = Stopwatch.StartNew();
        await browser.LoadAsync();
        var ms = clock.Elapsed.TotalMilliseconds;
        return (ms, browser.Current?.TotalCount ?? throw new InvalidOperationException(browser.FailureDetail));
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static RgbImage Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var p = (y * width + x) * 3;
            (pixels[p], pixels[p + 1], pixels[p + 2]) = ((byte)(x * 255 / width), (byte)(y * 255 / height), 128);
        }
        return new RgbImage(width, height, pixels);
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
            n++;
        return n;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
