namespace ZImage.Engine.Core;

/// <summary>
/// Who is asking. The UI and the API authenticate; the jobs layer only compares names and honours
/// <see cref="IsAdmin"/> (cancel and delete anything, see every queue entry and picture in full).
/// User names compare ordinally, case-insensitively, so "Ann" and "ann" own the same jobs.
/// </summary>
/// <param name="SharesByDefault">
/// What "share my pictures with the team" means for a person who never chose: true in an open (team) studio, false in
/// accounts mode. The studio's default, carried with the caller so the rule below needs nothing else.
/// </param>
public sealed record Caller(string UserName, bool IsAdmin = false, bool SharesByDefault = false)
{
    public static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    public bool Owns(string ownerName) => NameComparer.Equals(UserName, ownerName);

    public bool CanManage(string ownerName) => IsAdmin || Owns(ownerName);

    /// <summary>
    /// The one rule for who sees a picture or a queued prompt, for the API, the pages' picture files, History and the queue
    /// alike: its owner, an administrator, and everyone else when the owner shares their pictures with the team
    /// (<paramref name="ownerShares"/>: the owner's own choice, null when they never made one). Changing a picture
    /// (starring, deleting) stays <see cref="CanManage"/>.
    /// </summary>
    public bool CanSee(string ownerName, bool? ownerShares) => CanManage(ownerName) || (ownerShares ?? SharesByDefault);

    /// <summary>Whether this person's own pictures are shared, given their choice (null: never chosen).</summary>
    public bool Shares(bool? choice) => choice ?? SharesByDefault;
}
