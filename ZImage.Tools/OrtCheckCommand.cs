using Microsoft.Extensions.Logging;
using System.Globalization;
using ZImage.Engine.Onnx;

namespace ZImage.Tools;

/// <summary>
/// <c>dotnet ZImage.Web.dll ort-check --provider cpu|cuda|tensorrt [--size 1024] [--device 0] [--ort-dir DIR]</c>:
/// runs a MatMul on the provider through the engine's ONNX Runtime adapter and compares it with C#. Exit code 0 when it matches.
/// </summary>
public static class OrtCheckCommand
{
    private const string Usage = "usage: ort-check --provider cpu|cuda|tensorrt [--size 1024] [--device 0] [--ort-dir DIR]";

    public static Task<int> RunAsync(string[] args)
    {
        var provider = ExecutionProvider.Cpu;
        var size = 1024;
        var device = 0;
        string? ortDirectory = null;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--provider" when value is not null && TryParseProvider(value, out provider):
                case "--size" when value is not null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= 8192:
                case "--device" when value is not null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out device):
                    i++;
                    break;
                case "--ort-dir" when value is not null:
                    ortDirectory = value;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"ort-check: '{args[i]}' {(value is null ? "needs a value" : $"with '{value}' is not understood")} (--provider: cpu, cuda or tensorrt; --size: 1 to 8192).");
                    Console.Error.WriteLine(Usage);
                    return Task.FromResult(2);
            }
        }

        try
        {
            using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var runtime = OrtRuntime.Load(ortDirectory, logging.CreateLogger("ort"));
            Console.WriteLine($"ONNX Runtime {runtime.Version} from {runtime.LibraryPath}");
            Console.WriteLine($"available providers: {string.Join(", ", runtime.AvailableProviders)}");
            Console.WriteLine($"chosen provider: {provider}{(provider == ExecutionProvider.Cpu ? "" : $" (device {device}, CPU fallback disabled)")}, MatMul {size}x{size}");
            var result = OrtSelfCheck.Run(runtime, provider, size, device);
            Console.WriteLine($"max abs error vs C#: {result.MaxAbsError:G4} (tolerance {result.Tolerance:G4})");
            Console.WriteLine($"run time: first {result.FirstRun.TotalMilliseconds:F1} ms, warm {result.WarmRun.TotalMilliseconds:F1} ms");
            Console.WriteLine($"IO binding: output left in {result.DeviceOutputLocation} memory, fed back as input: max abs error {result.DeviceChainMaxAbsError:G4}");
            // Measured here, not in the unit tests: on a busy machine a timing says more about the neighbours than the code.
            var cancelDelay = OrtSelfCheck.MeasureCancelDelay(runtime);
            Console.WriteLine($"cancel: a CPU run stopped {cancelDelay.TotalMilliseconds:F1} ms after its token was cancelled (goal < 100 ms)");
            Console.WriteLine(result.Passed ? "ort-check: PASS" : "ort-check: FAIL");
            return Task.FromResult(result.Passed ? 0 : 1);
        }
        catch (OnnxRuntimeException e)
        {
            Console.Error.WriteLine($"ort-check: FAIL ({e.ErrorCode}): {e.Message}");
            return Task.FromResult(1);
        }
    }

    private static bool TryParseProvider(string text, out ExecutionProvider provider)
    {
        provider = text.ToLowerInvariant() switch
        {
            "cpu" => ExecutionProvider.Cpu,
            "cuda" => ExecutionProvider.Cuda,
            "tensorrt" => ExecutionProvider.TensorRT,
            _ => (ExecutionProvider)(-1),
        };
        return Enum.IsDefined(provider);
    }
}
