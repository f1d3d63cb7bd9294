using System.Diagnostics;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxIsolatedCollection.Name)]
public sealed class SessionLifetimeTests(OrtFixture fixture)
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

        // Measured here, each leaked cycle would hold a session (graph, kernels, allocator, thread pool state: tens of
        // kB at the least), so 1,000 leaks would add well over 16 MiB; allocator noise after warm-up is a few MiB.
        var growth = after - before;
        Assert.True(growth < 16L << 20, $"1,000 session cycles grew resident memory by {growth / 1024.0 / 1024.0:F1} MiB.");
    }

    [Fact]
    public void LeakedSessionsWouldBeSeenByTheMemoryCheck()
    {
        // Calibrates the tolerance above: 200 sessions kept open cost more than 16 MiB / 1000 * 200 = 3.2 MiB.
        var model = TestModels.Linear(fixture, "linear_kept.onnx");
        var before = ResidentBytes();
        var kept = new List<InferenceSession>();
        try
        {
            for (var i = 0; i < 200; i++)
                kept.Add(fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 }));
            var growth = ResidentBytes() - before;
            Assert.True(growth > 16L * 200 / 1000 << 20, $"200 open sessions only cost {growth / 1024.0:F0} KiB.");
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
