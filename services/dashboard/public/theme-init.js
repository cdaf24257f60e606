try {
  var pref = localStorage.getItem("tt.theme");
  var dark = pref === "dark" || (pref !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  var lang = localStorage.getItem("tt.lang");
  if (lang === "uk" || lang === "en") document.documentElement.lang = lang;
} catch {
  // storage blocked (private mode, policy): keep the defaults
}
