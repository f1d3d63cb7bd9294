// Small browser helpers the Blazor components call. Preferences live in cookies so the first HTML the
// server renders is already in the right language and theme.
window.zimage = {
    setPreference(name, value) {
        document.cookie = `${name}=${encodeURIComponent(value)}; path=/; max-age=31536000; samesite=lax`;
    },

    // The detail view's "copy prompt": true when the clipboard took it (it needs a secure context or localhost).
    async copyText(text) {
        try { await navigator.clipboard.writeText(text); return true; } catch { return false; }
    },

    // Opt-in "pictures ready" notices: the browser asks once; the answer is the browser's to keep.
    async askToNotify() {
        if (!("Notification" in window)) return "unsupported";
        return Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    },

    notifyState() {
        return "Notification" in window ? Notification.permission : "unsupported";
    },

    // While the tab is in the background, finished jobs count up in its title ("(2) Generate · ZImage") and, when
    // allowed, a system notification says so; looking at the tab again clears the count.
    picturesReady(title, body) {
        if (!document.hidden) return;
        zimage.readyCount = (zimage.readyCount ?? 0) + 1;
        const plain = document.title.replace(/^\(\d+\) /, "");
        document.title = `(${zimage.readyCount}) ${plain}`;
        if ("Notification" in window && Notification.permission === "granted") new Notification(title, { body });
        if (!zimage.watchingVisibility) {
            zimage.watchingVisibility = true;
            document.addEventListener("visibilitychange", () => {
                if (document.hidden) return;
                zimage.readyCount = 0;
                document.title = document.title.replace(/^\(\d+\) /, "");
            });
        }
    },

    // Scrolls the first match into view unless it is already there (the progress card after Generate on a phone).
    reveal(selector) {
        const element = document.querySelector(selector);
        if (!element) return;
        const box = element.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) element.scrollIntoView({ block: "center", behavior: "smooth" });
    },

    // <html lang> follows the language picked without a reload (screen readers, fonts, the browser's own messages).
    setLanguage(code) {
        document.documentElement.lang = code;
    },

    // Small per-browser choices that need not reach the server before the page renders (the Advanced section).
    getLocal(key) {
        try { return localStorage.getItem(key); } catch { return null; }
    },

    setLocal(key, value) {
        try { localStorage.setItem(key, value); } catch { /* private mode: not remembered */ }
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

// The reconnect dialog's buttons (App.razor): try the same circuit again, or load the page afresh once the server has
// forgotten it or ended it (#ended-reload: a removed person then lands on the sign-in page).
document.addEventListener("click", e => {
    const button = e.target instanceof Element ? e.target.closest("#reconnect-retry, #reconnect-reload, #ended-reload") : null;
    if (!button) return;
    if (button.id === "reconnect-retry" && window.Blazor?.reconnect) window.Blazor.reconnect();
    else location.reload();
});
