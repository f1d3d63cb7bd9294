namespace ZImage.Web.Ui;

public enum UserMode
{
    /// <summary>Anyone who can reach the page picks a display name; only safe on this machine (localhost).</summary>
    Open,
    /// <summary>Sign-in with user name and password; required when listening beyond localhost.</summary>
    Accounts,
}

/// <summary>Section <c>ZImage:Web</c>.</summary>
public sealed class UiOptions
{
    public const string Section = "ZImage:Web";

    public UserMode Mode { get; set; } = UserMode.Open;
}
