namespace ZImage.Web.Ui.Identity;

public static class UiRoles
{
    public const string Admin = "admin";
}
