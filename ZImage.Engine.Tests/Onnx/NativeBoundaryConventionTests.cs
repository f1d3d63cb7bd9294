using System.Reflection;
using System.Runtime.InteropServices;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

/// <summary>Onnx/ is the one door to native code: nothing public hands out a native handle, and no P/Invoke lives elsewhere.</summary>
public sealed class NativeBoundaryConventionTests
{
    private const string OnnxNamespace = "ZImage.Engine.Onnx";
    private static readonly Assembly Engine = typeof(OrtRuntime).Assembly;
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void NoPublicMemberExposesANativeHandle()
    {
        var offenders = new List<string>();
        foreach (var type in Engine.GetExportedTypes())
        {
            if (IsNative(type))
                offenders.Add(type.FullName!);
            foreach (var member in type.GetMembers(Declared).Where(IsVisible))
                foreach (var exposed in ExposedTypes(member).Where(IsNative))
                    offenders.Add($"{type.FullName}.{member.Name} exposes {exposed}");
        }

        Assert.Empty(offenders);
    }

    [Fact]
    public void PInvokeAndPointersLiveOnlyInTheOnnxRoom()
    {
        var offenders = new List<string>();
        foreach (var type in Engine.GetTypes().Where(t => !InOnnx(t)))
            foreach (var member in type.GetMembers(Declared))
            {
                if (member is MethodInfo method && (method.Attributes.HasFlag(MethodAttributes.PinvokeImpl) || method.GetCustomAttribute<DllImportAttribute>() is not null))
                    offenders.Add($"{type.FullName}.{method.Name} is a P/Invoke");
                foreach (var exposed in ExposedTypes(member).Where(t => t.IsPointer || t.IsFunctionPointer || t.IsUnmanagedFunctionPointer || typeof(SafeHandle).IsAssignableFrom(t)))
                    offenders.Add($"{type.FullName}.{member.Name} uses {exposed}");
            }

        Assert.Empty(offenders);
    }

    [Fact]
    public void TheConventionCheckSeesTheOnnxRoomsNativeCode()
    {
        // Guards the two tests above against passing because they look at nothing.
        var native = Engine.GetTypes().Where(InOnnx)
            .SelectMany(t => t.GetMembers(Declared))
            .SelectMany(ExposedTypes)
            .Where(t => t.IsPointer || typeof(SafeHandle).IsAssignableFrom(t))
            .ToArray();

        Assert.NotEmpty(native);
        Assert.Contains(Engine.GetExportedTypes(), t => t == typeof(InferenceSession));
    }

    [Fact]
    public void OnnxRuntimeIsReachedOnlyThroughItsManagedApi()
    {
        // No P/Invoke and no function pointer of ours leads into onnxruntime: the one native door left is NVML's.
        var offenders = new List<string>();
        foreach (var type in Engine.GetTypes().Where(t => t != typeof(Nvml) && t.DeclaringType != typeof(Nvml)))
            foreach (var member in type.GetMembers(Declared))
            {
                if (member is MethodInfo method && (method.Attributes.HasFlag(MethodAttributes.PinvokeImpl) || method.GetCustomAttribute<DllImportAttribute>() is not null))
                    offenders.Add($"{type.FullName}.{method.Name} is a P/Invoke");
                foreach (var exposed in ExposedTypes(member).Where(t => t.IsFunctionPointer || t.IsUnmanagedFunctionPointer))
                    offenders.Add($"{type.FullName}.{member.Name} uses the function pointer {exposed}");
            }

        Assert.Empty(offenders);
        Assert.Contains(typeof(Nvml).GetFields(Declared), f => f.FieldType.IsFunctionPointer); // the check sees function pointers
    }

    private static bool InOnnx(Type type) => type.Namespace is not null && (type.Namespace == OnnxNamespace || type.Namespace.StartsWith(OnnxNamespace + ".", StringComparison.Ordinal));

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
        Type t => t.IsNestedPublic || t.IsNestedFamily,
        _ => false,
    };

    private static IEnumerable<Type> ExposedTypes(MemberInfo member)
    {
        IEnumerable<Type> direct = member switch
        {
            MethodInfo m => [m.ReturnType, .. m.GetParameters().Select(p => p.ParameterType)],
            ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
            FieldInfo f => [f.FieldType],
            PropertyInfo p => [p.PropertyType],
            EventInfo e => e.EventHandlerType is { } handler ? [handler] : [],
            _ => [],
        };
        return direct.SelectMany(Unwrap);
    }

    // Looks through T[], T*, ref T and generic arguments such as IReadOnlyList<IntPtr>.
    private static IEnumerable<Type> Unwrap(Type type)
    {
        yield return type;
        if (type.HasElementType)
            foreach (var inner in Unwrap(type.GetElementType()!))
                yield return inner;
        if (type.IsGenericType)
            foreach (var argument in type.GetGenericArguments())
                foreach (var inner in Unwrap(argument))
                    yield return inner;
    }

    // The managed API's types count as native: the adapter keeps them behind the Onnx room's door.
    private static bool IsNative(Type type) =>
        type.Namespace?.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal) == true
        || type == typeof(IntPtr) || type == typeof(UIntPtr) || type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer
        || typeof(SafeHandle).IsAssignableFrom(type) || type == typeof(GCHandle);
}
