using Microsoft.Extensions.Options;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Ui.Settings;

/// <summary>
/// Makes a checked model folder active the way a person would: saved as the model folder in Settings. Saving reloads
/// the configuration, so the engine's options change and the pipeline opens the new folder at the next picture —
/// no restart. The catalog re-reads too, for an install that replaced the active folder in place.
/// </summary>
public sealed class SettingsModelActivator(SettingsStore store, IModelCatalog catalog) : IModelActivator
{
    public async Task ActivateAsync(string modelDirectory, CancellationToken ct)
    {
        var form = store.Load();
        form.ModelDirectory = modelDirectory;
        var problems = await store.SaveAsync(form, ct);
        if (problems.Count > 0)
            throw new InvalidOperationException($"the model works but could not be made active: Settings refused to save ({string.Join(", ", problems.Select(p => p.Field))})");
        catalog.Refresh();
    }
}

/// <summary>
/// What the Settings page may do with the installer, for this person. Every call checks the right on the server
/// (the page runs here, but hiding a button is not a permission): in accounts mode only administrators install.
/// </summary>
public sealed class ModelInstallActions(IServiceProvider services, UiUser user, IOptions<UiOptions> ui, StudioPaths paths)
{
    public bool Allowed => UiRoles.CanManage(ui.Value.Mode, user);

    /// <summary>The downloader and converter are part of this build.</summary>
    public bool Available => InstallSetup.IsAvailable(services);

    /// <summary>Installs go into the data folder unless a person names another.</summary>
    public string DefaultModelDirectory => Path.Combine(paths.DataDirectory(), "models", "z-image-turbo");

    public InstallStatus Status => Service().Status;

    public ModelInstallService Service()
    {
        Demand();
        return services.GetRequiredService<ModelInstallService>();
    }

    public Task<InstallPlan> PlanAsync(InstallRequest request, CancellationToken ct) => Service().PlanAsync(request, ct);

    /// <summary>Starts the install in the background: it outlives the page (closing the tab does not stop it).</summary>
    public Task<InstallStatus> Start(InstallRequest request)
    {
        var service = Service();
        return Task.Run(() => service.InstallAsync(request, null, CancellationToken.None));
    }

    public bool Cancel() => Service().Cancel();

    public string Resolve(string path) => paths.Resolve(path);

    private void Demand()
    {
        if (!Allowed)
            throw new UnauthorizedAccessException("only an administrator can install a model");
    }
}
