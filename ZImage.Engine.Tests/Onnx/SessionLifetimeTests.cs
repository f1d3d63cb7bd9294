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
        var options = new InferenceSessionOptions { IntraOpThreads = 1 };
        float[] features = [1, 2, 3, 4];
        void Cycle()
        {
            using var session = fixture.Runtime.OpenSession(model, options);
            using var input = Tensor.Create(features, 1, 4);
            using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
            using var binding = session.CreateBinding();
            using var scratch = session.AllocateTensor(TensorElementType.Float32, [1, 3]);
            binding.BindInput("features", input);
            binding.BindOutput("scores", scratch);
            binding.Run();
        }

        // Warm-up: the first cycles fill ORT's and glibc's pools, the JIT and the type caches; those are paid once.
        for (var i = 0; i < 100; i++)
            Cycle();
        var before = ResidentBytes();
        for (var i = 0; i < 1000; i++)
            Cycle();
        var after = ResidentBytes();

        // Tolerance 16 MiB. Measured on the dev box: an open session of this model holds about 50 KiB (see the
        // calibration test below), so leaking it 1,000 times would add about 50 MiB; after warm-up, resident memory
        // wanders by up to about 6 MiB between rounds of 1,000 cycles without trending up (glibc arenas, GC heap).
        var growth = after - before;
        output.WriteLine($"RSS before {before >> 20} MiB, after 1,000 cycles {after >> 20} MiB, growth {growth / 1024.0:F0} KiB");
        Assert.True(growth < 16L << 20, $"1,000 session cycles grew resident memory by {growth / 1024.0 / 1024.0:F1} MiB.");
    }

    [Fact]
    public void LeakedSessionsWouldBeSeenByTheMemoryCheck()
    {
        // Calibrates the tolerance above: if every one of the 1,000 cycles leaked its session, the growth would pass
        // 16 MiB. Keeping 1,000 sessions open shows it does; fewer would let memory freed by earlier tests (reused by
        // the allocator without growing the resident set) hide the growth when the whole suite runs.
        var model = TestModels.Linear(fixture, "linear_kept.onnx");
        var before = ResidentBytes();
        var kept = new List<InferenceSession>();
        try
        {
            for (var i = 0; i < 1000; i++)
                kept.Add(fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 }));
            var growth = ResidentBytes() - before;
            output.WriteLine($"1,000 open sessions: +{growth / 1024.0:F0} KiB resident ({growth / 1024.0 / 1000:F1} KiB each)");
            Assert.True(growth > 16L << 20, $"1,000 open sessions only cost {growth / 1024.0:F0} KiB.");
        }
        finally
        {
            foreach (var session in kept)
                session.Dispose();
        }
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
