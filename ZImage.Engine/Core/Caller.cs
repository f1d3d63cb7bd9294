namespace ZImage.Engine.Core;

/// <summary>
/// Who is asking. The UI and the API authenticate; the jobs layer only compares names and honours
/// <see cref="IsAdmin"/> (cancel and delete anything, see every queue entry in full).
/// User names compare ordinally, case-insensitively, so "Ann" and "ann" own the same jobs.
/// </summary>
public sealed record Caller(string UserName, bool IsAdmin = false)
{
    public static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    public bool Owns(string ownerName) => NameComparer.Equals(UserName, ownerName);

    public bool CanManage(string ownerName) => IsAdmin || Owns(ownerName);
}
