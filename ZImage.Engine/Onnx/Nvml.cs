using System.Runtime.InteropServices;

namespace ZImage.Engine.Onnx;

/// <summary>
/// NVIDIA Management Library, loaded at run time so a machine without the driver simply has no
/// GPU (CPU mode) instead of failing to start. Owned by whoever called <see cref="TryOpen"/>;
/// NVML calls are thread-safe, so any thread may read; dispose once, after the last read.
/// </summary>
internal sealed unsafe class Nvml : IDisposable
{
    private const string LibraryName = "libnvidia-ml.so.1";
    private const int Success = 0;
    // NVML_DEVICE_NAME_V2_BUFFER_SIZE: names are at most 96 bytes including the terminator.
    private const int NameBufferSize = 96;

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    private readonly IntPtr _library;
    private readonly IntPtr _device;
    private readonly delegate* unmanaged<IntPtr, NvmlMemory*, int> _getMemoryInfo;
    private readonly delegate* unmanaged<int> _shutdown;
    private int _disposed;

    private Nvml(IntPtr library, IntPtr device, string name,
        delegate* unmanaged<IntPtr, NvmlMemory*, int> getMemoryInfo, delegate* unmanaged<int> shutdown)
    {
        _library = library;
        _device = device;
        Name = name;
        _getMemoryInfo = getMemoryInfo;
        _shutdown = shutdown;
    }

    public string Name { get; }

    /// <summary>Null when the library is missing, has no such device, or refuses to initialise; <paramref name="why"/> says which.</summary>
    public static Nvml? TryOpen(uint deviceIndex, out string why)
    {
        if (!NativeLibrary.TryLoad(LibraryName, out var library))
        {
            why = $"{LibraryName} not found (no NVIDIA driver)";
            return null;
        }

        try
        {
            var init = (delegate* unmanaged<int>)Export(library, "nvmlInit_v2");
            var shutdown = (delegate* unmanaged<int>)Export(library, "nvmlShutdown");
            var getHandle = (delegate* unmanaged<uint, IntPtr*, int>)Export(library, "nvmlDeviceGetHandleByIndex_v2");
            var getMemory = (delegate* unmanaged<IntPtr, NvmlMemory*, int>)Export(library, "nvmlDeviceGetMemoryInfo");
            var getName = (delegate* unmanaged<IntPtr, byte*, uint, int>)Export(library, "nvmlDeviceGetName");

            int rc = init();
            if (rc != Success)
            {
                why = $"nvmlInit_v2 returned {rc}";
                NativeLibrary.Free(library);
                return null;
            }

            IntPtr device;
            rc = getHandle(deviceIndex, &device);
            if (rc != Success)
            {
                why = $"no GPU at index {deviceIndex} (nvmlDeviceGetHandleByIndex_v2 returned {rc})";
                shutdown();
                NativeLibrary.Free(library);
                return null;
            }

            byte* buffer = stackalloc byte[NameBufferSize];
            string name = getName(device, buffer, NameBufferSize) == Success
                ? Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "NVIDIA GPU"
                : "NVIDIA GPU";
            why = "";
            return new Nvml(library, device, name, getMemory, shutdown);
        }
        catch (EntryPointNotFoundException e)
        {
            why = $"{LibraryName} is too old: {e.Message}";
            NativeLibrary.Free(library);
            return null;
        }
    }

    /// <summary>Total, free and used bytes; null if the driver stopped answering (e.g. the GPU fell off the bus).</summary>
    public (long Total, long Free, long Used)? ReadMemory()
    {
        if (Volatile.Read(ref _disposed) != 0)
            return null;
        NvmlMemory memory;
        if (_getMemoryInfo(_device, &memory) != Success)
            return null;
        return ((long)memory.Total, (long)memory.Free, (long)memory.Used);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _shutdown();
        NativeLibrary.Free(_library);
    }

    private static IntPtr Export(IntPtr library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new EntryPointNotFoundException(name);
}
