namespace ZImage.Web.Tests.Kit;

/// <summary>Folders the tests copy and find: a model folder to damage, the repository a clone is made from.</summary>
internal static class TestFolders
{
    public static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The checkout the tests run from (the folder with ZImage.sln above the test output), or null.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ZImage.sln")))
                return dir.FullName;
        return null;
    }
}
