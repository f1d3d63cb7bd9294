namespace ZImage.Engine.Core;

/// <summary>
/// Who is asking. The UI and the API authenticate; the jobs layer only compares names and honours
/// <see cref="IsAdmin"/> (cancel and delete anything, see every queue entry in full).
/// User names compare ordinally, case-insensitively, so "Ann" and "ann" own the same jobs.
/// </summary>
/// <param name="SharedGallery">
/// Open mode: the gallery is the team's, everyone sees every picture (jobs stay private). Accounts mode: false.
/// </param>
public sealed record Caller(string UserName, bool IsAdmin = false, bool SharedGallery = false)
{
    public static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    public bool Owns(string ownerName) => NameComparer.Equals(UserName, ownerName);

    public bool CanManage(string ownerName) => IsAdmin || Owns(ownerName);

    /// <summary>
    /// The one rule for who sees a picture, for the API, the pages' picture files and History alike: its owner, an
    /// administrator, and everyone in a shared gallery. Changing it (starring, deleting) stays <see cref="CanManage"/>.
    /// </summary>
    public bool CanSee(string ownerName) => SharedGallery || CanManage(ownerName);

    /// <summary>Whether a listing of everyone's pictures (History's "everyone") is open to this caller.</summary>
    public bool SeesEveryone => SharedGallery || IsAdmin;
}
