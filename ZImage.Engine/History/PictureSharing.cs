using System.Collections.Concurrent;

namespace ZImage.Engine.History;

/// <summary>
/// Each person's choice to share their pictures with the team, as stored, plus the last choice this process read for
/// each name. History and the picture files read the store itself (the query joins the choice); the queue, which is
/// listed under a lock many times a second, reads <see cref="LastKnown"/>: the jobs room reads a person's choice when
/// their job is submitted, claimed or recovered, a change made here updates it at once, and with PostgreSQL a change
/// made by another process is read again when its signal arrives (docs/scale-out.md). <see cref="Changed"/> tells
/// pages that show the queue to draw it again.
/// </summary>
public sealed class PictureSharing(IPictureStore store)
{
    private readonly ConcurrentDictionary<string, bool?> _known = new(Caller.NameComparer);

    /// <summary>
    /// A person's known choice changed (here or, with PostgreSQL, in another process): the name. Raised on the thread that
    /// learnt it; handlers must be quick.
    /// </summary>
    public event Action<string>? Changed;

    /// <summary>The person's stored choice (null: never chose), remembered for <see cref="LastKnown"/>.</summary>
    public async Task<bool?> ReadAsync(string userName, CancellationToken ct = default)
    {
        var choice = (await store.FindOwnerAsync(userName, ct))?.Shares;
        Remember(userName, choice);
        return choice;
    }

    public async Task SetAsync(string userName, bool shares, CancellationToken ct = default)
    {
        await store.SetSharingAsync(userName, shares, ct);
        Remember(userName, shares);
    }

    /// <summary>
    /// The choice last read or made here. A name this process never read counts as not sharing (false, not null), so a
    /// gap can hide a prompt but never show one its owner withheld.
    /// </summary>
    public bool? LastKnown(string userName) => _known.TryGetValue(userName, out var choice) ? choice : false;

    /// <summary>A choice read with other rows (the running jobs' owners, with PostgreSQL): remembered like <see cref="ReadAsync"/>.</summary>
    internal void Remember(string userName, bool? choice)
    {
        var before = LastKnown(userName);
        _known[userName] = choice;
        if (before != choice)
            Changed?.Invoke(userName);
    }
}
