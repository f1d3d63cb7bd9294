namespace ZImage.Engine.Pipeline;

/// <summary>
/// Whether a card may take its next job. After a card fault (<see cref="OrtFailures.IsCardFault"/>) it pauses: the
/// first pause is <c>first</c>, each further fault in a row doubles it up to <c>max</c>, and a job that succeeds on the
/// card ends the pause streak. While paused its worker claims nothing, so other cards take the queue; afterwards it tries
/// again with a freshly loaded model. Thread-safe: several workers may share one card.
/// </summary>
public sealed class CardHealth
{
    private readonly Lock _lock = new();
    private CardFault? _fault;

    /// <summary>The card's unresolved fault (faults in a row since its last success), or null while it is healthy.</summary>
    public CardFault? Fault
    {
        get
        {
            lock (_lock)
                return _fault;
        }
    }

    /// <summary>Records a fault at <paramref name="now"/> and returns it with the time of the next try.</summary>
    public CardFault Faulted(string reason, DateTimeOffset now, TimeSpan first, TimeSpan max)
    {
        lock (_lock)
        {
            int inARow = (_fault?.InARow ?? 0) + 1;
            _fault = new CardFault(reason, now, now + Pause(inARow, first, max), inARow);
            return _fault;
        }
    }

    /// <summary>A job succeeded on the card: it works again, and the next fault pauses it for the first length again.</summary>
    public void Succeeded()
    {
        lock (_lock)
            _fault = null;
    }

    /// <summary>How long the card still waits before it takes a job; zero when it may take one now.</summary>
    public TimeSpan WaitAt(DateTimeOffset now)
    {
        lock (_lock)
            return _fault is { } f && f.RetryAt > now ? f.RetryAt - now : TimeSpan.Zero;
    }

    /// <summary>The pause after the <paramref name="inARow"/>-th fault in a row: first, 2×first, 4×first…, at most max.</summary>
    public static TimeSpan Pause(int inARow, TimeSpan first, TimeSpan max)
    {
        // Doubling past 2^20 only overflows; the cap is reached long before (1 s × 2^20 is 12 days).
        var pause = first * Math.Pow(2, Math.Min(inARow - 1, 20));
        return pause < max ? pause : max;
    }
}

/// <summary>A card's fault: the error's sentence, when it happened, when the card tries again, and how many in a row.</summary>
public sealed record CardFault(string Reason, DateTimeOffset At, DateTimeOffset RetryAt, int InARow);
