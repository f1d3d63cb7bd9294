// Small browser helpers the Blazor components call. Preferences live in cookies so the first HTML the
// server renders is already in the right language and theme.
window.zimage = {
    setPreference(name, value) {
        document.cookie = `${name}=${encodeURIComponent(value)}; path=/; max-age=31536000; samesite=lax`;
    },

    // Set once the circuit is live, so automated checks (and CSS) know clicks will be answered.
    markInteractive() {
        document.documentElement.dataset.ziInteractive = "true";
    },

    // Dropping a PNG on the Generate page loads its settings. Only the text chunks matter, so the image data
    // (IDAT) is dropped here: a 2 MB picture becomes a few hundred bytes and fits one circuit message.
    watchPngDrop(dotnet) {
        const hasFiles = e => Array.from(e.dataTransfer?.types ?? []).includes("Files");
        const over = e => { if (hasFiles(e)) { e.preventDefault(); document.body.classList.add("zi-dragging"); } };
        const leave = e => { if (e.relatedTarget === null) document.body.classList.remove("zi-dragging"); };
        const drop = async e => {
            if (!hasFiles(e)) return;
            e.preventDefault();
            document.body.classList.remove("zi-dragging");
            const file = e.dataTransfer.files[0];
            if (!file) return;
            const bytes = new Uint8Array(await file.arrayBuffer());
            await dotnet.invokeMethodAsync("LoadDroppedPng", zimage.withoutImageData(bytes), file.name);
        };
        document.addEventListener("dragover", over);
        document.addEventListener("dragleave", leave);
        document.addEventListener("drop", drop);
        return { dispose() {
            document.removeEventListener("dragover", over);
            document.removeEventListener("dragleave", leave);
            document.removeEventListener("drop", drop);
        } };
    },

    withoutImageData(bytes) {
        const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4E && bytes[3] === 0x47;
        if (!isPng) return btoa(String.fromCharCode(...bytes.subarray(0, 64)));
        const kept = [bytes.subarray(0, 8)];
        let at = 8;
        while (at + 12 <= bytes.length) {
            const length = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
            const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
            const end = at + 12 + length;
            if (end > bytes.length) break;
            if (type !== "IDAT") kept.push(bytes.subarray(at, end));
            at = end;
            if (type === "IEND") break;
        }
        let binary = "";
        for (const part of kept) for (let i = 0; i < part.length; i += 8192) binary += String.fromCharCode(...part.subarray(i, i + 8192));
        return btoa(binary);
    },
};

// A new API token's field selects itself on focus, so it can be copied at once. Delegated from here rather than an
// inline onfocus attribute: the pages' Content-Security-Policy allows no inline script.
document.addEventListener("focusin", e => {
    if (e.target instanceof HTMLInputElement && e.target.classList.contains("zi-secret"))
        e.target.select();
});
