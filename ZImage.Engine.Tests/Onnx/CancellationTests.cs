using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxIsolatedCollection.Name)]
public sealed class CancellationTests(OrtFixture fixture)
{
    // 4,000 MatMuls of 512x512 take several seconds on one core even when the machine is idle (256x256 ran in about
    // a quarter of a second, racing the 300 ms cancel). How soon it stops is measured by `ort-check` (docs/performance.md),
    // not here: on a shared machine a timing measures the neighbours.
    private const int Nodes = 4000;
    private const int Size = 512;

    [Fact]
    public void CancelFromAnotherThreadStopsTheRunWithTheTokensCancellation()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.LongChain(fixture, Nodes, Size), new() { IntraOpThreads = 1 });
        using var x = Tensor.Create(new float[Size * Size], Size, Size);
        using var cts = new CancellationTokenSource();

        var run = Task.Run(() => session.Run(new Dictionary<string, Tensor> { ["x"] = x }, cancellationToken: cts.Token));
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));
        var error = Assert.ThrowsAny<OperationCanceledException>(() => run.GetAwaiter().GetResult());

        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.IsType<OnnxRuntimeException>(error.InnerException);
    }

    [Fact]
    public void AlreadyCancelledTokenDoesNotStartTheRun()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture), new() { IntraOpThreads = 1 });
        using var a = Tensor.Create(new float[6], 2, 3);

        Assert.ThrowsAny<OperationCanceledException>(() =>
            session.Run(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = a }, cancellationToken: new CancellationToken(canceled: true)));
    }

    [Fact]
    public void CancelStopsABoundRunToo()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.LongChain(fixture, Nodes, Size), new() { IntraOpThreads = 1 });
        using var binding = session.CreateBinding();
        using var x = Tensor.Create(new float[Size * Size], Size, Size);
        binding.BindInput("x", x);
        binding.BindOutput("y", DeviceMemory.Cpu);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var error = Assert.ThrowsAny<OperationCanceledException>(() => binding.Run(cts.Token));

        Assert.Equal(cts.Token, error.CancellationToken);
    }

    [Fact]
    public async Task DisposingTheSessionDuringARunReleasesEverythingAfterTheRunEnds()
    {
        // Without the hold inside Run, ORT would release a session under its running graph and the process would
        // crash. With it, a session disposed mid-run is released when the run returns, its outputs with it, and
        // the caller gets ObjectDisposedException; a dispose before the run starts refuses the run. Twenty tries
        // with growing delays so that some disposes land mid-run (a run of this chain takes tens of milliseconds).
        const int size = 256;
        var model = TestModels.LongChain(fixture, 400, size);
        using var x = Tensor.Create(new float[size * size], size, size);
        var initial = OrtObjects.LiveCount;
        var disposedMidRun = 0;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 });
            using var started = new ManualResetEventSlim();
            var run = Task.Run(() =>
            {
                started.Set();
                using var outputs = session.Run(new Dictionary<string, Tensor> { ["x"] = x });
            });
            started.Wait();
            Thread.SpinWait(20_000 * attempt);
            session.Dispose();
            var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => run);
            if (error.Message.Contains("was disposed while it ran"))
                disposedMidRun++;
        }
        Assert.True(disposedMidRun > 0, "no dispose landed during a run in 20 tries");
        Assert.True(OrtObjects.LiveCount <= initial, $"{OrtObjects.LiveCount} native objects live, {initial} before");
    }
}
