using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;

namespace ZImage.Tools;

/// <summary>
/// <c>session-soak [--cycles 1000] [--warmup 100] [--rounds 3] [--ort-dir DIR]</c>: opens, runs and disposes ONNX Runtime
/// sessions on the CPU and prints how this process's resident memory moved per round of cycles, and whether every
/// native object came back. Exit code 0 when no round grew by 16 MiB or more and no native object was left alive, 1
/// otherwise. Was a unit test; on a shared machine resident memory says as much about the neighbours as about the code,
/// so the figure lives here and in docs/reliability.md.
/// </summary>
internal static class SessionSoakCommand
{
    private const long GoalBytes = 16L << 20;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, new HashSet<string>());
            int cycles = a.Int("cycles", 1000), warmup = a.Int("warmup", 100), rounds = a.Int("rounds", 3);
            var ortDirectory = a.String("ort-dir");
            a.RejectUnknown();
            if (cycles < 1 || warmup < 0 || rounds < 1)
                throw new CliException("--cycles and --rounds must be at least 1, --warmup at least 0");

            var runtime = OrtRuntime.Load(ortDirectory, NullLogger.Instance);
            output.WriteLine($"session soak: ONNX Runtime {runtime.Version}, {rounds} round(s) of {cycles} session cycles after {warmup} warm-up cycles, goal: growth under {GoalBytes >> 20} MiB per round");
            var passed = true;
            for (var round = 1; round <= rounds; round++)
            {
                var r = OrtSelfCheck.MeasureSessionCycles(runtime, round == 1 ? warmup : 0, cycles);
                var leaked = r.LiveObjectsAfter - r.LiveObjectsBefore;
                passed &= r.Growth < GoalBytes && leaked == 0;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: RSS {r.ResidentBefore / Mebibytes.Bytes:F1} -> {r.ResidentAfter / Mebibytes.Bytes:F1} MiB, growth {r.Growth / 1024.0:F0} KiB; native objects left alive {leaked}; {r.Elapsed.TotalMilliseconds / r.Cycles:F2} ms per cycle"));
            }
            output.WriteLine(passed ? "session-soak: PASS" : "session-soak: FAIL");
            return Task.FromResult(passed ? 0 : 1);
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return Task.FromResult(2);
        }
    }
}
