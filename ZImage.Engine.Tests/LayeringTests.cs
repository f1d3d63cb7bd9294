using System.Reflection;
using System.Reflection.Emit;
using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests;

/// <summary>
/// The engine's namespaces form layers: each may use those below it, never one above. The check reads the compiled
/// assembly, not the source's using lines (which a global using or a fully qualified name would hide): every type's
/// base type, interfaces, fields, properties, events, method and constructor signatures, attributes, and every type,
/// method and field token in every method body (compiler-made closures and state machines included, as nested types
/// of the type that wrote them).
/// </summary>
public class LayeringTests
{
    /// <summary>
    /// Bottom first. The root namespace (ZImage.Engine, the composition root) may use them all. The model installer
    /// (Models.Install) is its own layer on top: it writes files the way jobs do and ends by making a test picture,
    /// while everything that reads a model folder sits below it in Models. Its ONNX protobuf writer
    /// (Models.Install.Protobuf) uses nothing of ours and is shared with Onnx's test-model builder, so it sits at the bottom.
    /// </summary>
    private static readonly string[] Layers =
    [
        "Core", "Models.Install.Protobuf", "Onnx", "Text", "Sampling", "Models", "Imaging", "Memory", "Pipeline", "History", "Jobs",
        "Models.Install",
    ];

    [Fact]
    public void NoEngineNamespaceUsesOneAboveIt()
    {
        var engine = typeof(JobService).Assembly;
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in engine.GetTypes())
        {
            var from = Layer(type);
            if (from is null)
                continue;
            foreach (var used in UsedTypes(type))
            {
                if (used.Assembly != engine || Layer(used) is not { } to || to == from)
                    continue;
                if (Array.IndexOf(Layers, to) > Array.IndexOf(Layers, from))
                    violations.Add($"{from} -> {to}: {type.FullName} uses {used.FullName}");
            }
        }

        Assert.True(violations.Count == 0, $"{violations.Count} uses of a higher layer:\n{string.Join("\n", violations.Take(40))}");
    }

    [Fact]
    public void EveryEngineNamespaceHasAPlaceInTheLayers()
    {
        var unplaced = typeof(JobService).Assembly.GetTypes()
            .Select(t => LayerOf(t.Namespace))
            .OfType<string>()
            .Distinct()
            .Where(n => !Layers.Contains(n))
            .ToList();

        Assert.Empty(unplaced);
    }

    /// <summary>The layer a type is in: its namespace under ZImage.Engine, cut to a name in <see cref="Layers"/>; null for the root and other assemblies.</summary>
    private static string? Layer(Type type)
    {
        while (type.IsNested)
            type = type.DeclaringType!;
        return LayerOf(type.Namespace);
    }

    private static string? LayerOf(string? ns)
    {
        if (ns is null || !ns.StartsWith("ZImage.Engine.", StringComparison.Ordinal))
            return null;
        var path = ns["ZImage.Engine.".Length..];
        // The longest layer name that is the namespace or one of its parents (Models.Install.Hub is in Models.Install).
        return Layers.Where(l => path == l || path.StartsWith(l + ".", StringComparison.Ordinal)).MaxBy(l => l.Length) ?? path;
    }

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        var found = new List<Type>();
        void Add(Type? t)
        {
            if (t is null)
                return;
            if (t.HasElementType)
            {
                Add(t.GetElementType());
                return;
            }
            if (t.IsGenericParameter)
                return;
            found.Add(t);
            if (t.IsGenericType)
            {
                foreach (var a in t.GetGenericArguments())
                    Add(a);
            }
        }
        void Attributes(MemberInfo m)
        {
            foreach (var a in m.CustomAttributes)
                Add(a.AttributeType);
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
            Add(i);
        Attributes(type);
        foreach (var f in type.GetFields(Declared))
        {
            Add(f.FieldType);
            Attributes(f);
        }
        foreach (var p in type.GetProperties(Declared))
        {
            Add(p.PropertyType);
            Attributes(p);
        }
        foreach (var e in type.GetEvents(Declared))
            Add(e.EventHandlerType);
        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (m is MethodInfo mi)
                Add(mi.ReturnType);
            foreach (var p in m.GetParameters())
                Add(p.ParameterType);
            Attributes(m);
            var body = m.GetMethodBody();
            if (body is null)
                continue;
            foreach (var local in body.LocalVariables)
                Add(local.LocalType);
            foreach (var t in TokensIn(m, body.GetILAsByteArray() ?? []))
                Add(t);
        }
        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types an IL body names: through type, method and field tokens (a method's declaring type and signature).</summary>
    private static IEnumerable<Type> TokensIn(MethodBase method, byte[] il)
    {
        var module = method.Module;
        var typeArgs = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE && i + 1 < il.Length ? (short)(0xFE00 | il[i + 1]) : il[i];
            var op = OpCodesByValue[value];
            i += op.Size;
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    int n = BitConverter.ToInt32(il, i);
                    i += 4 + 4 * n;
                    break;
                case OperandType.InlineType or OperandType.InlineTok or OperandType.InlineMethod or OperandType.InlineField:
                    int token = BitConverter.ToInt32(il, i);
                    i += 4;
                    MemberInfo? member;
                    try
                    {
                        member = module.ResolveMember(token, typeArgs, methodArgs);
                    }
                    catch (ArgumentException)
                    {
                        member = null;
                    }
                    switch (member)
                    {
                        case Type t:
                            yield return t;
                            break;
                        case FieldInfo f:
                            yield return f.DeclaringType!;
                            yield return f.FieldType;
                            break;
                        case MethodBase mb:
                            yield return mb.DeclaringType!;
                            if (mb is MethodInfo called)
                                yield return called.ReturnType;
                            foreach (var p in mb.GetParameters())
                                yield return p.ParameterType;
                            if (mb.IsGenericMethod)
                            {
                                foreach (var a in mb.GetGenericArguments())
                                    yield return a;
                            }
                            break;
                    }
                    break;
                default:
                    // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR: a 4-byte operand.
                    i += 4;
                    break;
            }
        }
    }
}
