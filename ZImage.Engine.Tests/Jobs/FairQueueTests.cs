using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs;

public class FairQueueTests
{
    private static List<string> Drain(FairQueue<string> queue)
    {
        var order = new List<string>();
        while (queue.TryDequeue(_ => true, out var item))
            order.Add(item);
        return order;
    }

    [Fact]
    public void SingleJobsOfOtherUsersGoBeforeTheRestOfALongQueue()
    {
        var queue = new FairQueue<string>();
        for (int i = 0; i < 10; i++)
            queue.Enqueue($"ann-{i}", "ann", 1);
        queue.Enqueue("bob-0", "bob", 1);
        queue.Enqueue("cy-0", "cy", 1);

        var order = Drain(queue);

        Assert.Equal(12, order.Count);
        Assert.Contains("bob-0", order.Take(3));
        Assert.Contains("cy-0", order.Take(3));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"ann-{i}"), order.Where(o => o.StartsWith("ann")));
    }

    [Fact]
    public void AUserAskingForBiggerPicturesGetsProportionallyFewerTurns()
    {
        var queue = new FairQueue<string>();
        for (int i = 0; i < 8; i++)
        {
            queue.Enqueue($"big-{i}", "big", 4);
            queue.Enqueue($"small-{i}", "small", 1);
        }

        var firstTen = Drain(queue).Take(10).ToList();

        // Over the same virtual time the small user gets about four turns for each big one.
        Assert.Equal(2, firstTen.Count(o => o.StartsWith("big")));
        Assert.Equal(8, firstTen.Count(o => o.StartsWith("small")));
    }

    [Fact]
    public void ALateArrivalDoesNotWaitBehindJobsAlreadyQueuedByOthers()
    {
        var queue = new FairQueue<string>();
        for (int i = 0; i < 5; i++)
            queue.Enqueue($"ann-{i}", "ann", 1);
        Assert.True(queue.TryDequeue(_ => true, out var first));
        Assert.Equal("ann-0", first);

        queue.Enqueue("bob-0", "bob", 1);

        Assert.Equal("bob-0", queue.InOrder().First());
    }

    [Fact]
    public void AWithdrawnJobGivesItsPlaceBack()
    {
        var queue = new FairQueue<string>();
        queue.Enqueue("ann-0", "ann", 1);
        queue.Enqueue("ann-1", "ann", 1);
        Assert.True(queue.Remove("ann-1"));
        queue.Enqueue("ann-2", "ann", 1);
        queue.Enqueue("bob-0", "bob", 1);
        queue.Enqueue("bob-1", "bob", 1);

        // Had ann-1 still counted, ann-2 would come after bob-1.
        Assert.Equal(["ann-0", "bob-0", "ann-2", "bob-1"], Drain(queue));
        Assert.Equal(0, queue.CountFor("ann"));
    }

    [Fact]
    public void AJobThatCannotStartIsPassedOverAndKeepsItsTurn()
    {
        var queue = new FairQueue<string>();
        queue.Enqueue("huge", "ann", 1);
        queue.Enqueue("small", "bob", 1);

        Assert.True(queue.TryDequeue(i => i != "huge", out var started));
        Assert.Equal("small", started);
        Assert.Equal(["huge"], queue.InOrder());
    }

    [Fact]
    public void UserNamesCompareWithoutCase()
    {
        var queue = new FairQueue<string>();
        queue.Enqueue("a", "Ann", 1);
        queue.Enqueue("b", "ann", 1);
        Assert.Equal(2, queue.CountFor("ANN"));
    }
}
