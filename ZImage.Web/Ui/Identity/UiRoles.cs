namespace ZImage.Web.Ui.Identity;

public static class UiRoles
{
    public const string Admin = "admin";

    /// <summary>
    /// Who may change the studio (Settings, model installs) and see server paths: everyone on an open, localhost-only
    /// studio; administrators in accounts mode.
    /// </summary>
    public static bool CanManage(UserMode mode, UiUser user) => mode == UserMode.Open || user.IsAdmin;
}
