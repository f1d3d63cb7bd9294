// Small browser helpers the Blazor components call. Preferences live in cookies so the first HTML the
// server renders is already in the right language and theme.
window.zimage = {
    setPreference(name, value) {
        document.cookie = `${name}=${encodeURIComponent(value)}; path=/; max-age=31536000; samesite=lax`;
    },
};
