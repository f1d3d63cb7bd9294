using System.Diagnostics;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxIsolatedCollection.Name)]
public sealed class SessionLifetimeTests(OrtFixture fixture)
{
    [Fact]
    public void EveryNativeObjectOfAThousandCyclesIsReleased()
    {
        // Every ORT object the binding adopts (session, options, run options, tensors, binding, allocator, memory info)
        // is counted until ORT's Release runs for it. What that means for resident memory is a soak figure, not a unit
        // test: `ZImage.Tools session-soak` prints it (docs/reliability.md).
        var model = TestModels.Linear(fixture, "linear_counted.onnx");
        var before = OrtObjects.LiveCount;
        for (var i = 0; i < 1000; i++)
            OrtSelfCheck.SessionCycle(fixture.Runtime, model);
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
}
