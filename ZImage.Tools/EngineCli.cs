using Microsoft.Extensions.Logging;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Settings;

namespace ZImage.Tools;

/// <summary>What generate and bench share: opening the runtime and a model on a provider from the command line.</summary>
internal static class EngineCli
{
    public static readonly HashSet<string> CommonFlags = ["verbose", "sequential", "lean"];

    /// <summary>--sequential or --lean, else resident; both at once is refused.</summary>
    public static ResidencyPolicy Residency(CliArguments args)
    {
        var sequential = args.Flag("sequential");
        var lean = args.Flag("lean");
        if (sequential && lean)
            throw new CliException("--sequential and --lean are two different residencies: pass one of them");
        return sequential ? ResidencyPolicy.Sequential : lean ? ResidencyPolicy.Lean : ResidencyPolicy.Resident;
    }

    /// <summary>
    /// The model folder <c>--model</c> names. The committed models/self-test-tiny of a fresh clone lacks its
    /// tokenizer.json (11 MB, fetched by the build, never committed), so for that folder the build's completed copy beside
    /// this program is used instead; any other folder is taken as given, and its check names what is missing.
    /// </summary>
    public static string ModelDirectory(string given)
    {
        var selfTestName = Path.GetFileName(StudioPaths.SelfTestModelRelative);
        if (HasTokenizer(given) || Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(given))) != selfTestName)
            return given;
        return BuiltSelfTestModel() ?? given;
    }

    /// <summary>The complete self-test model the build places beside the program (models/self-test-tiny), if it is there.</summary>
    public static string? BuiltSelfTestModel()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, StudioPaths.SelfTestModelRelative);
        return HasTokenizer(beside) ? beside : null;
    }

    private static bool HasTokenizer(string dir) => File.Exists(Path.Combine(dir, "tokenizer", "tokenizer.json"));

    public static (ZImagePipeline Pipeline, OrtRuntime Runtime) OpenPipeline(CliArguments args, ILoggerFactory loggers)
    {
        var modelDirectory = ModelDirectory(args.Required("model"));
        var provider = CliArguments.ParseProvider(args.String("provider"));
        var options = KeyValues(args, "provider-option");
        var sessionConfig = KeyValues(args, "session-config");
        var vaeProvider = args.String("vae-provider") is { } vae ? CliArguments.ParseProvider(vae, "vae-provider") : (ExecutionProvider?)null;
        var residency = Residency(args);
        var ortDirectory = args.String("ort-dir");
        var threads = args.Int("threads", 0);

        var runtime = OrtRuntime.Load(ortDirectory, loggers.CreateLogger("ZImage.Engine.Onnx"));
        var folder = ModelFolder.Open(modelDirectory);
        var sessionOptions = new InferenceSessionOptions
        {
            Provider = provider,
            ProviderOptions = options,
            IntraOpThreads = threads,
            ConfigEntries = sessionConfig,
        };
        // The VAE on another provider takes none of the main provider's options (their keys are provider-specific).
        var vaeOptions = vaeProvider is { } p && p != provider
            ? new InferenceSessionOptions { Provider = p, IntraOpThreads = threads, ConfigEntries = sessionConfig }
            : null;
        var pipeline = new ZImagePipeline(folder, runtime, sessionOptions,
            _ => residency,
            loggers.CreateLogger<ZImagePipeline>(), vaeOptions);
        return (pipeline, runtime);
    }

    /// <summary>Every <c>--name key=value</c>, the last one winning for a key.</summary>
    private static Dictionary<string, string> KeyValues(CliArguments args, string name)
    {
        var values = new Dictionary<string, string>();
        foreach (var pair in args.All(name))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0)
                throw new CliException($"--{name} must look like key=value (got '{pair}')");
            values[pair[..eq]] = pair[(eq + 1)..];
        }
        return values;
    }

    public static ILoggerFactory Loggers(bool verbose) => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
        .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning));
}
