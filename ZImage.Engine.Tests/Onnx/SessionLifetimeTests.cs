using System.Diagnostics;
using Xunit.Abstractions;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxIsolatedCollection.Name)]
public sealed class SessionLifetimeTests(OrtFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void ThousandSessionCyclesLeaveMemoryFlat()
    {
        var model = TestModels.Linear(fixture, "linear_cycles.onnx");
        void Cycle() => SessionCycle(model);

        // Warm-up: the first cycles fill ORT's and glibc's pools, the JIT and the type caches; those are paid once.
        for (var i = 0; i < 100; i++)
            Cycle();
        var before = ResidentBytes();
        for (var i = 0; i < 1000; i++)
            Cycle();
        var after = ResidentBytes();

        // Tolerance 16 MiB: after warm-up, resident memory wanders by up to about 6 MiB between rounds of 1,000 cycles
        // without trending up (glibc arenas, GC heap). Keeping sessions open instead costs 12 KiB (whole suite
        // running, freed heap reused) to 50 KiB (alone) each, so this coarse check catches a leak of the bigger
        // objects; EveryNativeObjectOfAThousandCyclesIsReleased is the exact one.
        var growth = after - before;
        output.WriteLine($"RSS before {before >> 20} MiB, after 1,000 cycles {after >> 20} MiB, growth {growth / 1024.0:F0} KiB");
        Assert.True(growth < 16L << 20, $"1,000 session cycles grew resident memory by {growth / 1024.0 / 1024.0:F1} MiB.");
    }

    [Fact]
    public void EveryNativeObjectOfAThousandCyclesIsReleased()
    {
        // The exact check behind the resident-memory one: every ORT object the binding adopts (session, options,
        // run options, tensors, binding, allocator, memory info) is counted until ORT's Release runs for it.
        var model = TestModels.Linear(fixture, "linear_counted.onnx");
        var before = OrtObjects.LiveCount;
        for (var i = 0; i < 1000; i++)
            SessionCycle(model);
        Assert.Equal(before, OrtObjects.LiveCount);
    }

    [Fact]
    public void ASessionDisposedWhileItsOutputsLiveGoesWithTheLastOfThem()
    {
        // Outputs may sit in the session's own memory, so they hold it; the native session is released when they go.
        var model = TestModels.Linear(fixture, "linear_outlived.onnx");
        var before = OrtObjects.LiveCount;
        var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 });
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
        var whileRunning = OrtObjects.LiveCount;

        session.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.Run(new Dictionary<string, Tensor> { ["features"] = input }));
        Assert.Equal(whileRunning, OrtObjects.LiveCount); // nothing released yet: the output holds the session
        Assert.Equal(TestModels.LinearReference([1, 2, 3, 4]), outputs[0].ToArray<float>());
        outputs.Dispose();
        input.Dispose();
        Assert.Equal(before, OrtObjects.LiveCount);
    }

    /// <summary>Open a session, run it plainly and through a binding, dispose everything.</summary>
    private void SessionCycle(string model)
    {
        using var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 });
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
        using var binding = session.CreateBinding();
        using var scratch = session.AllocateTensor(TensorElementType.Float32, [1, 3]);
        binding.BindInput("features", input);
        binding.BindOutput("scores", scratch);
        binding.Run();
    }

    [Fact]
    public void IntraOpThreadsSizeTheSessionThreadPool()
    {
        // ORT starts intra-op threads - 1 pool threads (the caller is the last one) when the session is created.
        var model = TestModels.Add(fixture);
        int ThreadsWith(int intraOpThreads)
        {
            using var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = intraOpThreads });
            using var process = Process.GetCurrentProcess();
            return process.Threads.Count;
        }

        var one = ThreadsWith(1);
        var five = ThreadsWith(5);

        Assert.True(five - one >= 4, $"A session with 5 intra-op threads added {five - one} threads over one with 1.");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // statm's second field is the resident set in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
}
