using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>
/// A broken card (its driver or CUDA provider fails every run) pauses instead of failing every job it takes: its job goes
/// back to the queue for another card, or for this one after the pause; the pause doubles while it keeps failing and ends
/// with a success; a job that breaks every card still ends. Stand-in cards, and a clock the test moves (no real waits).
/// </summary>
public class CardFaultTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 7, 0, 0, TimeSpan.Zero);

    private const string CudaFailure = "CUDA failure 999: unspecified launch failure ; GPU=0 ; hostname=render-01";

    /// <summary>What ONNX Runtime throws when the CUDA provider breaks mid-run.</summary>
    private static OnnxRuntimeException Broken(string message = CudaFailure) => new(OrtErrorCode.EpFail, message);

    private static FakeMemoryProbe Card(string name) => new(new GpuMemoryInfo(name, 80 * FakeMemoryProbe.GiB, 79 * FakeMemoryProbe.GiB, FakeMemoryProbe.GiB));

    private static Task<JobsHost> OneCard(FakePipeline pipeline, FakeTimeProvider clock) =>
        JobsHost.StartAsync(JobsHost.NewRoot(), pipeline, Card("Fake H200 A"), clock: clock,
            settings: new() { ["ZImage:Jobs:MaxQueuedPerUser"] = "100" });

    private static Task<JobsHost> TwoCards(FakePipeline first, FakePipeline second, FakeTimeProvider clock) =>
        JobsHost.StartAsync(JobsHost.NewRoot(), first, Card("Fake H200 A"), clock: clock, settings: new()
        {
            ["ZImage:Engine:Devices:0"] = "0",
            ["ZImage:Engine:Devices:1"] = "1",
            ["ZImage:Jobs:MaxQueuedPerUser"] = "100",
        }, cards: new FakeCards((second, Card("Fake H200 B"))));

    /// <summary>The job was announced as waiting again because its card failed (<paramref name="times"/> times so far).</summary>
    private static Task UntilRequeuedAsync(JobsHost host, string jobId, int times) => host.Events.UntilAsync(
        () => host.Events.Of<JobQueued>().Count(e => e.JobId == jobId && e.Notice?.Contains("failed while making these pictures") == true) >= times,
        $"job {jobId} to be queued again after a card fault ({times})");

    [Fact]
    public async Task WithTwoCardsAndOneBrokenEveryJobSucceedsOnTheHealthyCardAndNoneFails()
    {
        var clock = new FakeTimeProvider(T0);
        var healthy = new FakePipeline();
        var broken = new FakePipeline { FailWith = _ => Broken() };
        healthy.Hold();
        await using var host = await TwoCards(healthy, broken, clock);
        var jobs = new List<string>();
        for (int i = 0; i < 8; i++)
            jobs.Add((await host.SubmitAsync(new[] { "ann", "bob" }[i % 2], 256, 256, prompt: $"job {i}")).Id);

        await host.StartWorkerAsync();
        // The healthy card is busy with the first job, so the broken one takes the second, fails, and pauses.
        await host.Events.UntilAsync(() => broken.Started.Count == 1 && host.Status.GetStatus().Cards[1].Activity == CardActivity.Faulted, "the broken card to pause");
        var victim = jobs[int.Parse(broken.Started.Single().Prompt["job ".Length..])];
        await UntilRequeuedAsync(host, victim, 1);
        var card = host.Status.GetStatus().Cards[1];
        Assert.Equal(CardActivity.Faulted, card.Activity);
        Assert.Equal((T0 + TimeSpan.FromSeconds(30), 1), (card.Fault!.RetryAt, card.Fault.InARow));
        Assert.Contains(CudaFailure, card.Fault.Reason);

        healthy.Release();
        foreach (var id in jobs)
            await host.UntilFinalAsync(id);

        Assert.Empty(host.Events.Of<JobFailed>());
        Assert.Equal(jobs.Order(), host.Events.Of<JobSucceeded>().Select(e => e.JobId).Order());
        // The broken card, pausing, took nothing more; the healthy card ran every job once, the failed one included.
        Assert.Single(broken.Started);
        Assert.Equal(8, healthy.Started.Count);
        var again = (await host.Store.GetJobAsync(victim))!;
        Assert.Equal((JobStatus.Succeeded, 1), (again.Status, again.Restarts));
        Assert.Contains("GPU 1 failed", again.Notice);
        foreach (var id in jobs.Where(id => id != victim))
            Assert.Equal(0, (await host.Store.GetJobAsync(id))!.Restarts);
    }

    [Fact]
    public async Task OnOneCardThatBreaksAndHealsTheQueuedJobsWaitThenSucceedAndNoneIsLost()
    {
        var clock = new FakeTimeProvider(T0);
        var pipeline = new FakePipeline { FailWith = _ => Broken() };
        await using var host = await OneCard(pipeline, clock);
        var jobs = new List<string>();
        foreach (var who in new[] { "ann", "bob", "cy" })
            jobs.Add((await host.SubmitAsync(who, 256, 256, prompt: who)).Id);

        await host.StartWorkerAsync();
        await UntilRequeuedAsync(host, jobs[0], 1);
        // Not a burst of failures: every job still waits, the first at its old place.
        Assert.Empty(host.Events.Of<JobFailed>());
        Assert.Equal(jobs, host.Jobs.ListQueue(new Caller("boss", IsAdmin: true)).Select(e => e.Job!.Id));
        Assert.Equal(TimeSpan.FromSeconds(30), host.Cards[0].Health.WaitAt(clock.GetUtcNow()));
        // The ETAs count the pause: nothing starts before the card's next try.
        Assert.True((await host.Jobs.GetAsync(jobs[0], new Caller("ann")))!.EtaStart >= TimeSpan.FromSeconds(30));

        // After the pause it tries again (the same job, which kept its turn), fails again, and waits twice as long.
        clock.Advance(TimeSpan.FromSeconds(30));
        await UntilRequeuedAsync(host, jobs[0], 2);
        Assert.Equal(2, pipeline.Started.Count);
        Assert.Equal(TimeSpan.FromSeconds(60), host.Cards[0].Health.WaitAt(clock.GetUtcNow()));

        // The driver is fixed; 59 s later the card still waits, a second after that it works through the queue.
        pipeline.FailWith = null;
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(CardActivity.Faulted, host.Status.GetStatus().Cards[0].Activity);
        clock.Advance(TimeSpan.FromSeconds(1));
        foreach (var id in jobs)
            await host.UntilFinalAsync(id);

        Assert.Empty(host.Events.Of<JobFailed>());
        Assert.Equal(3, host.Events.Of<JobSucceeded>().Count());
        Assert.Equal((JobStatus.Succeeded, 2), ((await host.Store.GetJobAsync(jobs[0]))!.Status, (await host.Store.GetJobAsync(jobs[0]))!.Restarts));
        var card = host.Status.GetStatus().Cards[0];
        Assert.Equal((CardActivity.Idle, (CardFault?)null), (card.Activity, card.Fault));
    }

    [Fact]
    public async Task AJobThatBreaksTheCardEveryTimeFailsWithTheCardAndTheErrorAfterTheLimitAndTheQueueRunsOn()
    {
        var clock = new FakeTimeProvider(T0);
        var pipeline = new FakePipeline { FailWith = r => r.Prompt == "poison" ? Broken("CUDA failure 700: an illegal memory access was encountered") : null };
        await using var host = await OneCard(pipeline, clock);
        var poison = await host.SubmitAsync("ann", 256, 256, prompt: "poison");
        var others = new List<string>();
        foreach (var who in new[] { "bob", "cy", "dee" })
            others.Add((await host.SubmitAsync(who, 256, 256, prompt: who)).Id);

        await host.StartWorkerAsync();
        await UntilRequeuedAsync(host, poison.Id, 1);
        clock.Advance(TimeSpan.FromSeconds(30));
        await UntilRequeuedAsync(host, poison.Id, 2);
        // The third run is the last one ZImage:Jobs:CardFaultRetries (2) allows.
        clock.Advance(TimeSpan.FromSeconds(60));
        await host.UntilFinalAsync(poison.Id);

        var failed = Assert.Single(host.Events.Of<JobFailed>());
        Assert.Equal(poison.Id, failed.JobId);
        Assert.Equal(JobWorker.CardFaultPrefix + "this job ran 3 times and the card failed each time; the last was GPU 0: " +
            "CUDA failure 700: an illegal memory access was encountered", failed.Reason);
        Assert.Equal((JobStatus.Failed, failed.Reason), ((await host.Store.GetJobAsync(poison.Id))!.Status, (await host.Store.GetJobAsync(poison.Id))!.Error));
        Assert.Equal(3, pipeline.Started.Count(r => r.Prompt == "poison"));

        // The card pauses after that third fault too (it cannot tell the job from itself), then serves the rest.
        Assert.Equal(TimeSpan.FromSeconds(120), host.Cards[0].Health.WaitAt(clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromSeconds(120));
        foreach (var id in others)
            await host.UntilFinalAsync(id);
        Assert.Equal(others.Order(), host.Events.Of<JobSucceeded>().Select(e => e.JobId).Order());
        Assert.Null(host.Cards[0].Health.Fault);
    }

    [Fact]
    public void ThePauseDoublesWithEachFaultInARowUpToTheCapAndASuccessStartsItOver()
    {
        var health = new CardHealth();
        var first = TimeSpan.FromSeconds(30);
        var max = TimeSpan.FromMinutes(10);

        var pauses = Enumerable.Range(0, 7).Select(i =>
        {
            var fault = health.Faulted("CUDA failure", T0, first, max);
            return (fault.RetryAt - T0).TotalSeconds;
        }).ToList();

        Assert.Equal([30, 60, 120, 240, 480, 600, 600], pauses);
        Assert.Equal(7, health.Fault!.InARow);
        Assert.Equal(TimeSpan.FromSeconds(600), health.WaitAt(T0));
        Assert.Equal(TimeSpan.Zero, health.WaitAt(T0 + TimeSpan.FromSeconds(600)));

        health.Succeeded();
        Assert.Null(health.Fault);
        Assert.Equal(TimeSpan.Zero, health.WaitAt(T0));
        Assert.Equal(T0 + first, health.Faulted("CUDA failure", T0, first, max).RetryAt);
        // A thousand faults in a row do not overflow the doubling.
        Assert.Equal(max, CardHealth.Pause(1000, first, max));
    }

    public static TheoryData<string, Exception, bool> Failures => new()
    {
        { "a provider error mid-run", Broken(), true },
        { "a session that cannot be created on the device", new OnnxRuntimeException(OrtErrorCode.Fail, "CUDA provider: cudaSetDevice failed: no CUDA-capable device is detected"), true },
        { "a device reset", new OnnxRuntimeException(OrtErrorCode.DeviceReset, "device reset"), true },
        { "a provider error wrapped by the pipeline", new AggregateException(new InvalidOperationException("step 3", Broken())), true },
        { "ONNX Runtime's out of memory", new OnnxRuntimeException(OrtErrorCode.Fail, "CUDA error cudaErrorMemoryAllocation: out of memory"), false },
        { "the pipeline's out of memory", new GpuOutOfMemoryException("The GPU ran out of memory", Broken()), false },
        { "a broken model file", new OnnxRuntimeException(OrtErrorCode.InvalidProtobuf, "Protobuf parsing failed"), false },
        { "a missing model file", new OnnxRuntimeException(OrtErrorCode.NoSuchFile, "Model file 'x.onnx' does not exist."), false },
        { "bad input", new ArgumentException("steps must be between 1 and 50 (got 0)."), false },
        { "an unusable model folder", new ModelFolderException("The model folder is not usable", []), false },
        { "cancellation", new OperationCanceledException(), false },
        { "saving (disk)", new IOException("No space left on device"), false },
        { "a lost lease", new LeaseLostException("j1"), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void OnlyTheCardsOwnFailuresCountAsCardFaults(string what, Exception error, bool cardFault)
    {
        Assert.True(OrtFailures.IsCardFault(error) == cardFault, $"{what}: expected card fault = {cardFault}");
    }

    [Theory]
    [InlineData("ZImage:Jobs:CardFaultBackoffSeconds", "0", "ZImage:Jobs:CardFaultBackoffSeconds must be between 1 and 3600 seconds.")]
    [InlineData("ZImage:Jobs:CardFaultBackoffSeconds", "3601", "ZImage:Jobs:CardFaultBackoffSeconds must be between 1 and 3600 seconds.")]
    [InlineData("ZImage:Jobs:CardFaultBackoffMaxSeconds", "86401", "ZImage:Jobs:CardFaultBackoffMaxSeconds must be between 1 and 86400 seconds.")]
    [InlineData("ZImage:Jobs:CardFaultBackoffMaxSeconds", "10", "ZImage:Jobs:CardFaultBackoffMaxSeconds (10) must be at least ZImage:Jobs:CardFaultBackoffSeconds (30)")]
    [InlineData("ZImage:Jobs:CardFaultRetries", "-1", "ZImage:Jobs:CardFaultRetries must be between 0 and 10.")]
    [InlineData("ZImage:Jobs:CardFaultRetries", "11", "ZImage:Jobs:CardFaultRetries must be between 0 and 10.")]
    public async Task ACardFaultSettingOutOfRangeStopsStartUpNamingTheFieldAndTheRange(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => JobsHost.StartAsync(JobsHost.NewRoot(), settings: new() { [key] = value }));
        Assert.Contains(message, error.Message);
    }
}
