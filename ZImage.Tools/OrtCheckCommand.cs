using Microsoft.Extensions.Logging;
using ZImage.Engine.Onnx;

namespace ZImage.Tools;

/// <summary>
/// <c>dotnet ZImage.Tools.dll ort-check --provider cpu|cuda|tensorrt [--size 1024] [--device 0] [--ort-dir DIR]</c>:
/// runs a MatMul on the provider through the engine's ONNX Runtime adapter and compares it with C#. Exit code 0 when it matches.
/// </summary>
public static class OrtCheckCommand
{
    private const string Usage = "usage: ort-check --provider cpu|cuda|tensorrt [--size 1024] [--device 0] [--ort-dir DIR]";

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ExecutionProvider provider;
        int size, device;
        string? ortDirectory;
        try
        {
            var a = new CliArguments(args, new HashSet<string>());
            provider = CliArguments.ParseProvider(a.String("provider"));
            size = a.Int("size", 1024);
            device = a.Int("device", 0);
            ortDirectory = a.String("ort-dir");
            a.RejectUnknown();
            if (size is < 1 or > 8192)
                throw new CliException($"--size must be between 1 and 8192 (got {size})");
            if (device < 0)
                throw new CliException($"--device must be 0 or more (got {device})");
        }
        catch (CliException e)
        {
            error.WriteLine($"ort-check: {e.Message}");
            error.WriteLine(Usage);
            return Task.FromResult(2);
        }

        try
        {
            using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var runtime = OrtRuntime.Load(ortDirectory, logging.CreateLogger("ort"));
            output.WriteLine($"ONNX Runtime {runtime.Version} from {runtime.LibraryPath}");
            output.WriteLine($"available providers: {string.Join(", ", runtime.AvailableProviders)}");
            output.WriteLine($"chosen provider: {provider}{(provider == ExecutionProvider.Cpu ? "" : $" (device {device}, CPU fallback disabled)")}, MatMul {size}x{size}");
            var result = OrtSelfCheck.Run(runtime, provider, size, device);
            output.WriteLine($"max abs error vs C#: {result.MaxAbsError:G4} (tolerance {result.Tolerance:G4})");
            output.WriteLine($"run time: first {result.FirstRun.TotalMilliseconds:F1} ms, warm {result.WarmRun.TotalMilliseconds:F1} ms");
            output.WriteLine($"IO binding: output left in {result.DeviceOutputLocation} memory, fed back as input: max abs error {result.DeviceChainMaxAbsError:G4}");
            // Measured here, not in the unit tests: on a busy machine a timing says more about the neighbours than the code.
            var cancelDelay = OrtSelfCheck.MeasureCancelDelay(runtime);
            output.WriteLine($"cancel: a CPU run stopped {cancelDelay.TotalMilliseconds:F1} ms after its token was cancelled (goal < 100 ms)");
            output.WriteLine(result.Passed ? "ort-check: PASS" : "ort-check: FAIL");
            return Task.FromResult(result.Passed ? 0 : 1);
        }
        catch (OnnxRuntimeException e)
        {
            error.WriteLine($"ort-check: FAIL ({e.ErrorCode}): {e.Message}");
            return Task.FromResult(1);
        }
    }
}
