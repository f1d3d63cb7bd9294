using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

public sealed class SystemStatus(JobService jobs, TimeProvider clock) : ISystemStatus
{
    public SystemStatusSnapshot GetStatus()
    {
        var cards = jobs.Cards.Select(Card).ToArray();
        var first = cards[0];
        var (queued, running) = jobs.Counts();
        var c = jobs.Counters();
        return new SystemStatusSnapshot(
            first.HasGpu,
            first.HasGpu ? first.Name : "No GPU (CPU mode)",
            first.VramTotalBytes,
            first.VramUsedBytes,
            first.VramFreeBytes,
            queued,
            running,
            jobs.Workers,
            first.ModelState,
            first.ModelDetail,
            c.Succeeded,
            c.Failed,
            c.Cancelled,
            c.OutOfMemory,
            c.ImagesByUser)
        {
            ModelLoadEstimate = jobs.Cards[0].Model.LoadEstimate,
            NextJobLoadEstimate = jobs.NextJobLoadEstimate(),
            GpuSecondsByUser = jobs.GpuSecondsByUser(),
            Cards = cards,
        };
    }

    private CardStatus Card(GpuCard card)
    {
        var gpu = card.Memory.Read();
        var model = card.Model.State;
        var (busy, progress) = jobs.RunningOn(card);
        var activity = busy ? model == ModelState.Loading ? CardActivity.Loading : CardActivity.Running
            : card.Health.WaitAt(clock.GetUtcNow()) > TimeSpan.Zero ? CardActivity.Faulted
            : model == ModelState.Unloaded ? CardActivity.Unloaded : CardActivity.Idle;
        return new CardStatus(card.Index, card.DeviceId, gpu is not null, gpu?.Name ?? "No GPU (CPU mode)",
            gpu?.TotalBytes ?? 0, gpu?.UsedBytes ?? 0, gpu?.FreeBytes ?? 0, model, card.Model.Detail, activity, busy ? progress : null)
        {
            Fault = card.Health.Fault,
        };
    }
}

/// <summary>Registered until the pipeline registers its own <see cref="IModelStatus"/>.</summary>
public sealed class UnknownModelStatus : IModelStatus
{
    public ModelState State => ModelState.Unknown;
    public string? Detail => null;
}
