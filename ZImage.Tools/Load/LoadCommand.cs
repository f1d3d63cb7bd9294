using System.Globalization;
using System.Text.Json;

namespace ZImage.Tools.Load;

/// <summary>
/// <c>load [--users 20] [--duration 10m] [--drain 2m] [--url URL [--server-pid PID]] [--model DIR] [--data DIR]
/// [--seed 1] [--p99-goal-ms 200] [--json FILE]</c>. Without --url it starts its own server (ZImage.Web, beside this program) on a free
/// loopback port, with the self-test model on the CPU and its data in a temporary folder that it deletes afterwards,
/// and measures that server's memory. Exit code 0 when every job is accounted for, nothing failed and the p99 goal
/// was met; 1 otherwise; 2 for a usage error.
/// </summary>
internal static class LoadCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, new HashSet<string> { "keep-data" });
            var options = new LoadOptions
            {
                Users = a.Int("users", 20),
                Duration = Duration(a.String("duration"), TimeSpan.FromMinutes(10), "duration"),
                Drain = Duration(a.String("drain"), TimeSpan.FromMinutes(2), "drain"),
                Seed = a.Int("seed", 1),
                P99GoalMs = a.Float("p99-goal-ms", 200),
            };
            var url = a.String("url");
            var serverPid = a.Int("server-pid", 0);
            var model = a.String("model");
            var data = a.String("data");
            var keep = a.Flag("keep-data");
            var jsonPath = a.String("json");
            a.RejectUnknown();
            if (options.Users is < 1 or > 1000)
                throw new CliException("--users must be between 1 and 1000");

            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
            LoadReport report;
            if (url is not null)
            {
                using var client = Client(new Uri(url.TrimEnd('/') + "/"));
                Func<long?>? rss = serverPid > 0 ? () => ServerProcess.ReadResidentBytes(serverPid) : null;
                report = await new LoadDriver(client, options, rss, output).RunAsync(cancel.Token);
            }
            else
            {
                model ??= EngineCli.BuiltSelfTestModel() ?? throw new CliException("the self-test model was not found next to the program; give --model DIR");
                var root = data ?? Directory.CreateTempSubdirectory("zimage-load-").FullName;
                try
                {
                    output.WriteLine($"[load] starting a server: model {model} on the CPU, data in {root}");
                    await using var server = await ServerProcess.StartAsync(root, LocalServerSettings(root, model), TimeSpan.FromMinutes(2));
                    output.WriteLine($"[load] server pid {server.Id} at {server.BaseAddress}; {options.Users} users for {options.Duration.TotalSeconds:F0} s");
                    using var client = Client(server.BaseAddress);
                    report = await new LoadDriver(client, options, server.ResidentBytes, output).RunAsync(cancel.Token);
                    if (server.HasExited)
                        throw new CliException($"the server died during the run (exit code {server.ExitCode}):\n{server.Tail}");
                }
                finally
                {
                    if (data is null && !keep)
                        TryDelete(root);
                }
            }

            output.WriteLine(report.ToText());
            if (jsonPath is not null)
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            return report.Passed && report.P99GoalMet ? 0 : 1;
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Settings for a server the driver starts: its own folders, the self-test model on the CPU.</summary>
    public static Dictionary<string, string> LocalServerSettings(string root, string model) => new()
    {
        ["ZImage:Jobs:DataDirectory"] = Path.Combine(root, "data"),
        ["ZImage:Jobs:OutputDirectory"] = Path.Combine(root, "outputs"),
        ["ZImage:Engine:ModelDirectory"] = model,
        ["ZImage:Engine:Provider"] = "Cpu",
    };

    public static HttpClient Client(Uri baseAddress) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 512,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>"600", "600s", "10m" or "1h".</summary>
    internal static TimeSpan Duration(string? text, TimeSpan fallback, string name)
    {
        if (text is null)
            return fallback;
        var (number, unit) = text.Length > 0 && char.IsLetter(text[^1]) ? (text[..^1], text[^1]) : (text, 's');
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new CliException($"--{name} must be a positive duration such as 60, 90s, 10m or 1h (got '{text}')");
        return unit switch
        {
            's' => TimeSpan.FromSeconds(value),
            'm' => TimeSpan.FromMinutes(value),
            'h' => TimeSpan.FromHours(value),
            _ => throw new CliException($"--{name} must end in s, m or h (got '{text}')"),
        };
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
