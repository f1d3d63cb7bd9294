using ZImage.Engine.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Microsoft.Extensions.Configuration;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Operator;

/// <summary>
/// <c>install-model --from DIR|hf|modelscope [--endpoint URL] --out DIR [--dtype fp16|bf16] [--vae-dtype fp16|fp32]</c>
/// [--cache DIR (default data/hub-cache, the app's)] [--provider cpu|cuda|tensorrt] [--ort-dir DIR] [--verbose]: the official Z-Image-Turbo checkpoint
/// (a folder already downloaded, or fetched from Hugging Face or ModelScope) into a model folder, checked with one small
/// picture. A progress bar in a terminal, plain lines when the output is redirected.
/// Exit codes: 0 installed, 1 the install failed (the reason is printed), 2 bad arguments, 130 cancelled (Ctrl+C).
/// </summary>
internal static class InstallModelCommand
{
    public const int Installed = 0;
    public const int Failed = 1;
    public const int BadArguments = 2;
    public const int Cancelled = 130;

    /// <summary>The command's arguments, checked; each refusal names the flag and what it accepts.</summary>
    public sealed record Arguments(InstallRequest Request, string CacheDirectory, ExecutionProvider Provider, string? OrtDirectory, bool Verbose);

    public static Arguments Parse(IReadOnlyList<string> args)
    {
        var a = new CliArguments(args, new HashSet<string> { "verbose" });
        var from = a.String("from") ?? throw new CliException("--from is required: a checkpoint folder on this machine, hf (Hugging Face) or modelscope");
        var endpoint = a.String("endpoint");
        var output = a.String("out") ?? throw new CliException("--out is required: the model folder to create (it must not exist yet, or be empty)");
        var weights = a.String("dtype") switch
        {
            null or "fp16" => WeightDtype.Fp16,
            "bf16" => WeightDtype.Bf16,
            var other => throw new CliException($"--dtype must be fp16 or bf16 (got '{other}')"),
        };
        var vae = a.String("vae-dtype") switch
        {
            null or "fp32" => WeightDtype.Fp32,
            "fp16" => WeightDtype.Fp16,
            var other => throw new CliException($"--vae-dtype must be fp16 or fp32 (got '{other}')"),
        };
        var cache = a.String("cache");
        var provider = CliArguments.ParseProvider(a.String("provider"));
        var ortDirectory = a.String("ort-dir");
        var verbose = a.Flag("verbose");
        a.RejectUnknown();

        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            throw new CliException($"--endpoint must be an http:// or https:// address, e.g. https://hf-mirror.com (got '{endpoint}')");
        InstallSource source = from.ToLowerInvariant() switch
        {
            "hf" or "huggingface" => new InstallSource.Hub(new HubSource(HubKind.HuggingFace, Endpoint: endpoint)),
            "modelscope" => new InstallSource.Hub(new HubSource(HubKind.ModelScope, Endpoint: endpoint)),
            _ when Directory.Exists(from) => endpoint is null
                ? new InstallSource.Folder(Path.GetFullPath(from))
                : throw new CliException("--endpoint only applies to --from hf or --from modelscope, not to a folder"),
            _ => throw new CliException($"--from must be a checkpoint folder that exists, hf or modelscope (got '{from}': no such folder)"),
        };
        return new Arguments(new InstallRequest(source, Path.GetFullPath(output), new ConvertOptions(weights, vae)),
            Path.GetFullPath(cache ?? new HubOptions().CacheDirectory),
            provider, ortDirectory, verbose);
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) => RunAsync(args, output, error, parts: null, CancellationToken.None);

    /// <param name="parts">Registers the downloader and the converter (tests pass fakes); null: the engine's own.</param>
    /// <param name="terminalFor">The live console for the progress bar (tests pass one); null: the real terminal when output is not redirected.</param>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<IServiceCollection>? parts, CancellationToken ct,
        Func<TextWriter, IAnsiConsole?>? terminalFor = null)
    {
        Arguments parsed;
        try
        {
            parsed = Parse(args);
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return BadArguments;
        }

        var services = new ServiceCollection();
        services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(parsed.Verbose ? LogLevel.Information : LogLevel.Warning));
        services.AddSingleton(_ => OrtRuntime.Load(parsed.OrtDirectory));
        services.AddSingleton<IOptionsMonitor<EngineOptions>>(new FixedOptions(new EngineOptions { Provider = ToChoice(parsed.Provider) }));
        parts?.Invoke(services);
        // The hub's options (token, proxy, retries) from the environment (ZImage__Install__Hub__…, HF_TOKEN, HTTPS_PROXY).
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddZImageHubDownloads(configuration);
        services.TryAddSingleton<ICheckpointConverter, CheckpointConverter>();
        services.AddZImageInstaller(_ => new InstallOptions { CacheDirectory = parsed.CacheDirectory });
        await using var provider = services.BuildServiceProvider();
        var installer = provider.GetRequiredService<ModelInstallService>();

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var plan = await installer.PlanAsync(parsed.Request, cancel.Token);
            foreach (var line in InstallWords.PlanLines(plan))
                output.WriteLine(line);
            var terminal = terminalFor?.Invoke(output)
                ?? (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? AnsiConsole.Console : null);
            var final = terminal is not null
                ? await WithProgressBarAsync(terminal, installer, parsed.Request, cancel.Token)
                : await installer.InstallAsync(parsed.Request, new PlainLines(output), cancel.Token);
            switch (final.State)
            {
                case InstallState.Succeeded:
                    output.WriteLine(final.Message);
                    output.WriteLine($"use it: choose {final.ModelDirectory} in Settings → Model, or set ZImage:Engine:ModelDirectory");
                    return Installed;
                case InstallState.Cancelled:
                    error.WriteLine(final.Message);
                    return Cancelled;
                default:
                    error.WriteLine($"error: {final.Message}");
                    return Failed;
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error.WriteLine("cancelled before the install started");
            return Cancelled;
        }
        catch (Exception e) when (e is InstallRefusedException or HubDownloadException or ConvertException or HttpRequestException or IOException or InvalidDataException)
        {
            error.WriteLine($"error: {e.Message}");
            return Failed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>One Spectre.Console bar per stage, fed by the install's own progress stream (its speed and time left).</summary>
    private static async Task<InstallStatus> WithProgressBarAsync(IAnsiConsole terminal, ModelInstallService installer, InstallRequest request, CancellationToken ct)
    {
        InstallStatus final = InstallStatus.Idle;
        await terminal.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var bars = new Dictionary<InstallStage, ProgressTask>();
                var progress = new SynchronousProgress(status =>
                {
                    if (status.Stage is not { } stage || !status.IsRunning)
                        return;
                    if (!bars.TryGetValue(stage, out var bar))
                    {
                        foreach (var done in bars.Values)
                            done.Value = done.MaxValue;
                        bars[stage] = bar = ctx.AddTask(InstallWords.StageName(stage), maxValue: 1);
                    }
                    bar.MaxValue = Math.Max(1, status.Total);
                    bar.Value = status.Done;
                    bar.Description = Markup.Escape(InstallWords.StatusLine(status));
                });
                final = await installer.InstallAsync(request, progress, ct);
                foreach (var bar in bars.Values.Where(_ => final.State == InstallState.Succeeded))
                    bar.Value = bar.MaxValue;
            });
        return final;
    }

    private static ProviderChoice ToChoice(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => ProviderChoice.Cuda,
        ExecutionProvider.TensorRT => ProviderChoice.TensorRT,
        _ => ProviderChoice.Cpu,
    };

    /// <summary>Redirected output (a log, CI): a line when the stage changes and at every tenth of it.</summary>
    private sealed class PlainLines(TextWriter output) : IProgress<InstallStatus>
    {
        private InstallStage? _stage;
        private int _tenth = -1;

        public void Report(InstallStatus value)
        {
            if (!value.IsRunning || value.Stage is not { } stage)
                return;
            var tenth = (int)(value.Fraction * 10);
            if (stage == _stage && tenth == _tenth)
                return;
            (_stage, _tenth) = (stage, tenth);
            output.WriteLine(InstallWords.StatusLine(value));
        }
    }

    private sealed class SynchronousProgress(Action<InstallStatus> report) : IProgress<InstallStatus>
    {
        public void Report(InstallStatus value) => report(value);
    }

    private sealed class FixedOptions(EngineOptions value) : IOptionsMonitor<EngineOptions>
    {
        public EngineOptions CurrentValue => value;
        public EngineOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<EngineOptions, string?> listener) => null;
    }
}

/// <summary>The installer's numbers in the terminal's words (the page has its own, translated, in UiText).</summary>
internal static class InstallWords
{
    public static string StageName(InstallStage stage) => stage switch
    {
        InstallStage.Download => "download",
        InstallStage.Convert => "convert",
        _ => "check",
    };

    public static string StatusLine(InstallStatus s)
    {
        var stage = StageName(s.Stage ?? InstallStage.Check);
        if (s.Stage == InstallStage.Check)
            return $"{stage}: {s.Message ?? "making a test picture"}";
        var speed = s.BytesPerSecond > 0 ? $" · {Size((long)s.BytesPerSecond)}/s" : "";
        var eta = s.Eta is { } e && s.Done < s.Total ? $" · {Duration(e)} left" : "";
        return $"{stage} {Size(s.Done)} of {Size(s.Total)}{speed}{eta}";
    }

    public static IEnumerable<string> PlanLines(InstallPlan plan)
    {
        yield return $"from {plan.Request.Source.Describe()} into {plan.Request.ModelDirectory}";
        if (plan.Request.Source is InstallSource.Hub)
            yield return $"download {Size(plan.ToDownloadBytes)}{(plan.CachedBytes > 0 ? $" ({Size(plan.CachedBytes)} already in the cache)" : "")}, " +
                         $"about {Duration(plan.DownloadTime)} at {Size((long)plan.DownloadBytesPerSecond)}/s " +
                         (plan.DownloadSpeedMeasured ? "(the speed measured last time)" : "(an assumed speed: your connection decides)");
        yield return $"disk needed {Size(plan.DiskNeededBytes)}, free {Size(plan.FreeBytes)}; converting takes about {Duration(plan.ConvertTime)} " +
                     $"(assuming the disk writes {Size((long)plan.ConvertBytesPerSecond)}/s), then a 256×256 test picture";
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1_000_000_000 => $"{bytes / 1e9:0.0} GB",
        >= 1_000_000 => $"{bytes / 1e6:0} MB",
        >= 1_000 => $"{bytes / 1e3:0} kB",
        _ => $"{bytes} B",
    };

    public static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min"
        : $"{Math.Max(1, (int)Math.Ceiling(t.TotalSeconds))} s";
}
