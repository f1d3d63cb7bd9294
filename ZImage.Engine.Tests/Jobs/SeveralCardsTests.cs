using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ZImage.Engine.Memory;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>
/// One process driving two cards (ZImage:Engine:Devices = [0,1]): a worker per card, each with its own (fake) pipeline and
/// memory probe, all taking jobs from the one fair queue.
/// </summary>
public class SeveralCardsTests
{
    private static readonly Dictionary<string, string?> TwoCards = new()
    {
        ["ZImage:Engine:Devices:0"] = "0",
        ["ZImage:Engine:Devices:1"] = "1",
        ["ZImage:Jobs:MaxQueuedPerUser"] = "100",
    };

    private static FakeMemoryProbe Card(string name, double totalGiB, double freeGiB) => new(new GpuMemoryInfo(name,
        (long)(totalGiB * FakeMemoryProbe.GiB), (long)(freeGiB * FakeMemoryProbe.GiB), (long)((totalGiB - freeGiB) * FakeMemoryProbe.GiB)));

    /// <summary>A host with card 0 = <paramref name="first"/>, card 1 = <paramref name="second"/>, each with an 80 GB card of its own.</summary>
    private static Task<JobsHost> Host(FakePipeline first, FakePipeline second, Dictionary<string, string?>? extra = null, string? root = null)
    {
        var settings = new Dictionary<string, string?>(TwoCards);
        foreach (var (k, v) in extra ?? [])
            settings[k] = v;
        return JobsHost.StartAsync(root ?? JobsHost.NewRoot(), first, Card("Fake H200 A", 80, 79), settings: settings,
            cards: new FakeCards((second, Card("Fake H200 B", 80, 79))));
    }

    [Fact]
    public async Task TwoCardsTakeJobsFromOneQueueNoneRunsTwiceNoneIsLostAndBothAreUsed()
    {
        var first = new FakePipeline { StepDelay = TimeSpan.FromMilliseconds(2) };
        var second = new FakePipeline { StepDelay = TimeSpan.FromMilliseconds(2) };
        await using var host = await Host(first, second);
        var submitted = new List<string>();
        for (int i = 0; i < 30; i++)
            submitted.Add((await host.SubmitAsync(new[] { "ann", "bob", "cy" }[i % 3], 256, 256, steps: 4, prompt: $"job {i}")).Id);

        await host.StartWorkerAsync();
        await host.Events.UntilAsync(() => host.Events.Of<JobSucceeded>().Count() == 30, "all 30 jobs to succeed", 60);

        Assert.Equal(2, host.Cards.Count);
        Assert.Equal(submitted.Order(), host.Events.Of<JobSucceeded>().Select(e => e.JobId).Order());
        Assert.Equal(30, host.Events.Of<JobStarted>().Select(e => e.JobId).Distinct().Count());
        // Every run went to exactly one card: the two pipelines together ran each prompt once.
        var prompts = first.Started.Concat(second.Started).Select(r => r.Prompt).ToList();
        Assert.Equal(30, prompts.Count);
        Assert.Equal(30, prompts.Distinct().Count());
        Assert.True(first.Started.Count > 0 && second.Started.Count > 0, $"both cards worked: {first.Started.Count} and {second.Started.Count}");
        foreach (var id in submitted)
            Assert.Equal(JobStatus.Succeeded, (await host.Store.GetJobAsync(id))!.Status);
    }

    [Fact]
    public async Task ThreePeopleOnTwoCardsEachGetTheirShareOfGpuTimeWithinTenPercent()
    {
        await using var host = await Host(new FakePipeline(), new FakePipeline());
        // Costs as in docs/jobs.md (W*H*steps*count / (1024*1024*8)): 1/8, 1/4 and 1/4; the same total queued by each.
        var cost = new Dictionary<string, (string User, double Cost)>();
        for (int i = 0; i < 40; i++)
        {
            var a = await host.SubmitAsync("ann", 256, 256, steps: 16);
            cost[a.Id] = ("ann", a.Request.Cost);
            if (i % 2 == 0)
            {
                var b = await host.SubmitAsync("bob", 512, 256, steps: 16);
                var c = await host.SubmitAsync("cy", 512, 512, steps: 8);
                cost[b.Id] = ("bob", b.Request.Cost);
                cost[c.Id] = ("cy", c.Request.Cost);
            }
        }

        await host.StartWorkerAsync();
        await host.Events.UntilAsync(() => host.Events.Of<JobSucceeded>().Count() == 80, "all 80 jobs to succeed", 60);

        // While all three still wait (the first 60 starts, three quarters of each one's total), GPU time is split evenly.
        var served = host.Events.Of<JobStarted>().Take(60).GroupBy(e => cost[e.JobId].User).ToDictionary(g => g.Key, g => g.Sum(e => cost[e.JobId].Cost));
        double fair = served.Values.Sum() / 3;
        Assert.All(["ann", "bob", "cy"], user => Assert.InRange(served[user], fair * 0.9, fair * 1.1));
    }

    [Fact]
    public async Task CancellingTheJobOnTheSecondCardStopsItThereAndTheFirstCardCarriesOn()
    {
        var first = new FakePipeline();
        var second = new FakePipeline();
        first.Hold();
        second.Hold();
        await using var host = await Host(first, second);
        await host.StartWorkerAsync();
        var one = await host.SubmitAsync("ann", 256, 256, prompt: "one");
        var two = await host.SubmitAsync("bob", 256, 256, prompt: "two");
        await host.Events.UntilAsync(() => first.Started.Count == 1 && second.Started.Count == 1 && host.Events.Of<JobStep>().Select(e => e.JobId).Distinct().Count() == 2,
            "a job on each card");
        var onSecond = second.Started.Single().Prompt == "one" ? one : two;
        var onFirst = onSecond == one ? two : one;

        // The queue and the status say which card runs what.
        var running = host.Jobs.ListQueue(new Caller("boss", IsAdmin: true));
        Assert.Equal(1, running.Single(e => e.Job!.Id == onSecond.Id).Runner!.Device);
        Assert.Equal(0, running.Single(e => e.Job!.Id == onFirst.Id).Runner!.Device);
        var cards = host.Status.GetStatus().Cards;
        Assert.Equal(["Fake H200 A", "Fake H200 B"], cards.Select(c => c.Name));
        Assert.All(cards, c => Assert.Equal(CardActivity.Running, c.Activity));

        Assert.Equal(CancelOutcome.Stopping, await host.Jobs.CancelAsync(onSecond.Id, new Caller(onSecond.UserName)));
        await host.UntilFinalAsync(onSecond.Id);
        Assert.Single(host.Events.Of<JobCancelled>(), e => e.JobId == onSecond.Id);
        Assert.Equal(CardActivity.Running, host.Status.GetStatus().Cards[0].Activity);
        Assert.Equal(CardActivity.Idle, host.Status.GetStatus().Cards[1].Activity);

        first.Release();
        await host.UntilFinalAsync(onFirst.Id);
        Assert.Single(host.Events.Of<JobSucceeded>(), e => e.JobId == onFirst.Id);
        Assert.Equal(JobStatus.Cancelled, (await host.Store.GetJobAsync(onSecond.Id))!.Status);
    }

    [Fact]
    public async Task AJobThatFailsForItsOwnReasonOnOneCardFailsWithTheReasonAndTheOtherCardKeepsGoing()
    {
        var first = new FakePipeline();
        var second = new FakePipeline();
        using var failNow = new ManualResetEventSlim();
        second.FailWith = _ =>
        {
            failNow.Wait(TimeSpan.FromSeconds(30));
            // Not a card fault (that would pause the card and run the job elsewhere: CardFaultTests): the job's own failure.
            return new InvalidOperationException("the prompt's tokens could not be read");
        };
        first.Hold();
        await using var host = await Host(first, second);
        await host.StartWorkerAsync();
        var a = await host.SubmitAsync("ann", 256, 256, prompt: "a");
        var b = await host.SubmitAsync("bob", 256, 256, prompt: "b");
        await host.Events.UntilAsync(() => first.Started.Count == 1 && second.Started.Count == 1, "a job on each card");
        var broken = second.Started.Single().Prompt == "a" ? a : b;
        var healthy = broken == a ? b : a;

        failNow.Set();
        await host.UntilFinalAsync(broken.Id);
        var failed = Assert.Single(host.Events.Of<JobFailed>());
        Assert.Equal(broken.Id, failed.JobId);
        Assert.Equal(JobWorker.PipelineFailurePrefix + "the prompt's tokens could not be read", failed.Reason);
        Assert.Equal(failed.Reason, (await host.Store.GetJobAsync(broken.Id))!.Error);

        // The first card finishes its job after the second card's failure, and goes on taking jobs.
        first.Release();
        await host.UntilFinalAsync(healthy.Id);
        Assert.Single(host.Events.Of<JobSucceeded>(), e => e.JobId == healthy.Id);
        var more = new List<string>();
        for (int i = 0; i < 4; i++)
            more.Add((await host.SubmitAsync("cy", 256, 256, prompt: $"more {i}")).Id);
        foreach (var id in more)
            await host.UntilFinalAsync(id);
        Assert.All(more, id => Assert.Contains(host.Events.All, e => e.JobId == id && e is JobSucceeded or JobFailed));
        Assert.Equal(first.Started.Count, host.Events.Of<JobSucceeded>().Count());
        Assert.Equal(second.Started.Count, host.Events.Of<JobFailed>().Count());
    }

    [Fact]
    public async Task QueuedJobsAreTimedAgainstBothCards()
    {
        string root = JobsHost.NewRoot();
        await using (var seed = await JobsHost.StartAsync(root))
        {
            await seed.Timings.SaveStepTimingAsync(new StepTiming(512, 512, false, 5, SecondsPerStep: 2.0, FixedSecondsPerImage: 1.0));
        }

        await using var host = await Host(new FakePipeline(), new FakePipeline(), root: root);
        var first = await host.SubmitAsync("ann", 512, 512, steps: 8);
        var second = await host.SubmitAsync("bob", 512, 512, steps: 8);
        var third = await host.SubmitAsync("cy", 512, 512, steps: 8);

        // 8 steps x 2 s + 1 s = 17 s each: the first two start at once, one on each card; the third after one of them.
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromSeconds(17)), (first.EtaStart, first.EtaFinish));
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromSeconds(17)), (second.EtaStart, second.EtaFinish));
        Assert.Equal((TimeSpan.FromSeconds(17), TimeSpan.FromSeconds(34)), (third.EtaStart, third.EtaFinish));
    }

    [Fact]
    public async Task AsTheAppWiresItEachCardGetsItsOwnPipelineHostGuardAndProbe()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ZImage:Engine:Devices:0"] = "1",
            ["ZImage:Engine:Devices:1"] = "0",
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(JobsHost.NewRoot(), "data"),
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        ZImage.Engine.Onnx.OnnxSetup.AddZImageOnnx(services, configuration);
        services.AddZImagePipeline(configuration);
        services.AddZImageJobs(configuration);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var cards = provider.GetRequiredService<GpuCards>();
        Assert.Equal([1, 0], cards.Select(c => c.DeviceId));
        // The first card is the app's registered host, guard and probe; the second has its own of each (ONNX Runtime
        // sessions, residency and idle unload live in the host; the guard reads that card's memory).
        Assert.Same(provider.GetRequiredService<PipelineHost>(), cards[0].Pipeline);
        Assert.Same(provider.GetRequiredService<IVramGuard>(), cards[0].Guard);
        Assert.Same(provider.GetRequiredService<IGpuMemoryProbe>(), cards[0].Memory);
        Assert.IsType<PipelineHost>(cards[1].Pipeline);
        Assert.NotSame(cards[0].Pipeline, cards[1].Pipeline);
        Assert.NotSame(cards[0].Guard, cards[1].Guard);
        Assert.NotSame(cards[0].Memory, cards[1].Memory);
        Assert.Same(cards[1].Pipeline, cards[1].Model);
        Assert.Equal(2, provider.GetRequiredService<JobService>().Workers);
    }

    [Theory]
    [InlineData("0,0")]
    [InlineData("0,65")]
    [InlineData("-1")]
    [InlineData("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16")]
    public void ABadDevicesListStopsStartUpNamingTheFieldAndTheAllowedValues(string devices)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Engine(devices.Split(',')));
        Assert.Contains("ZImage:Engine:Devices must list distinct GPU numbers from 0 to 64, at most 16 of them", error.Message);
    }

    [Fact]
    public void WithoutADevicesListTheOneConfiguredCardIsUsedAsBefore()
    {
        Assert.Equal(new[] { 3 }, Engine([], ("ZImage:Engine:DeviceId", "3")).CardDevices);
        Assert.Equal(new[] { 2, 0 }, Engine(["2", "0"]).CardDevices);
    }

    private static EngineOptions Engine(string[] devices, params (string Key, string Value)[] more)
    {
        var values = devices.Select((d, i) => new KeyValuePair<string, string?>($"ZImage:Engine:Devices:{i}", d))
            .Concat(more.Select(m => new KeyValuePair<string, string?>(m.Key, m.Value)));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        // Both rooms ask for the engine options; they are bound (and the list read) once.
        services.AddZImageModels();
        services.AddZImageModels();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<EngineOptions>>().Value;
    }
}
