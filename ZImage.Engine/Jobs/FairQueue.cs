namespace ZImage.Engine.Jobs;

/// <summary>
/// Start-time fair queuing over users, weighted by cost. Each job gets a virtual start tag
/// <c>S = max(V, lastFinish[user])</c> and finish tag <c>F = S + cost</c>; the queue serves the
/// smallest S (ties by arrival), and V becomes the S of the job served. A user with 20 queued jobs
/// has tags stacked far ahead, so another user's single job (tagged at V) goes next; a user asking
/// for bigger pictures advances faster in virtual time and gets proportionally fewer turns.
/// Pure logic with no locking and no storage, so a shared store (PostgreSQL) can persist the tags
/// and claim by <c>ORDER BY start_tag</c> with the same result. Callers synchronise.
/// </summary>
internal sealed class FairQueue<T> where T : notnull
{
    private sealed record Entry(T Item, string User, double Cost, double StartTag, double FinishTag, long Sequence);

    private sealed class TagOrder : IComparer<Entry>
    {
        public int Compare(Entry? x, Entry? y)
        {
            int c = x!.StartTag.CompareTo(y!.StartTag);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }

    private readonly SortedSet<Entry> _ordered = new(new TagOrder());
    private readonly Dictionary<T, Entry> _byItem = new();
    private readonly Dictionary<string, double> _lastFinish = new(Caller.NameComparer);
    private readonly Dictionary<string, int> _countByUser = new(Caller.NameComparer);
    private double _virtualTime;
    private long _sequence;

    public int Count => _ordered.Count;

    public int CountFor(string user) => _countByUser.GetValueOrDefault(user);


    public void Enqueue(T item, string user, double cost)
    {
        if (cost <= 0 || double.IsNaN(cost))
            throw new ArgumentOutOfRangeException(nameof(cost), cost, "cost must be positive");
        double start = Math.Max(_virtualTime, _lastFinish.GetValueOrDefault(user));
        var entry = new Entry(item, user, cost, start, start + cost, _sequence++);
        _byItem.Add(item, entry);
        _ordered.Add(entry);
        _lastFinish[user] = entry.FinishTag;
        _countByUser[user] = CountFor(user) + 1;
    }

    /// <summary>The first item in fair order that <paramref name="canStart"/> accepts (jobs held for memory are passed over).</summary>
    public bool TryDequeue(Func<T, bool> canStart, out T item) => TryDequeue(canStart, out item, out _);

    /// <summary>As above, with where the item stood, so <see cref="PutBack"/> can return it there.</summary>
    public bool TryDequeue(Func<T, bool> canStart, out T item, out QueuePlace place)
    {
        foreach (var entry in _ordered)
        {
            if (!canStart(entry.Item))
                continue;
            RemoveEntry(entry);
            _virtualTime = Math.Max(_virtualTime, entry.StartTag);
            item = entry.Item;
            place = new QueuePlace(entry.StartTag, entry.FinishTag, entry.Sequence);
            return true;
        }
        item = default!;
        place = default;
        return false;
    }

    /// <summary>
    /// An item taken earlier goes back where it stood (its tags and arrival), ahead of what its owner queued after it:
    /// the run failed through no fault of the job (a broken card), so it keeps its turn. Its owner's later tags stay.
    /// </summary>
    public void PutBack(T item, string user, double cost, QueuePlace place)
    {
        var entry = new Entry(item, user, cost, place.StartTag, place.FinishTag, place.Sequence);
        _byItem.Add(item, entry);
        _ordered.Add(entry);
        _lastFinish[user] = Math.Max(_lastFinish.GetValueOrDefault(user), place.FinishTag);
        _countByUser[user] = CountFor(user) + 1;
    }

    public bool Remove(T item)
    {
        if (!_byItem.TryGetValue(item, out var entry))
            return false;
        RemoveEntry(entry);
        // A withdrawn job should not count against its owner: if it was their latest, roll the tag back.
        if (_lastFinish.TryGetValue(entry.User, out double last) && last == entry.FinishTag)
            _lastFinish[entry.User] = entry.StartTag;
        return true;
    }

    /// <summary>Queued items in the order they would start if nothing new arrived.</summary>
    public IEnumerable<T> InOrder() => _ordered.Select(e => e.Item);

    private void RemoveEntry(Entry entry)
    {
        _ordered.Remove(entry);
        _byItem.Remove(entry.Item);
        int left = CountFor(entry.User) - 1;
        if (left == 0)
            _countByUser.Remove(entry.User);
        else
            _countByUser[entry.User] = left;
    }
}

/// <summary>Where an item stood in a <see cref="FairQueue{T}"/>: its virtual start and finish tags and its arrival.</summary>
internal readonly record struct QueuePlace(double StartTag, double FinishTag, long Sequence);
