// Light or dark: the system's choice (prefers-color-scheme) unless the person picked one with the toggle.
(function () {
  "use strict";
  const KEY = "chatrec.theme";
  const root = document.documentElement;
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch (e) { saved = null; }
  if (saved === "dark" || saved === "light") root.dataset.theme = saved;

  function isDark() {
    if (root.dataset.theme) return root.dataset.theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const btn = document.getElementById("theme-toggle");
    if (!btn) return;
    const show = () => btn.setAttribute("aria-pressed", isDark() ? "true" : "false");
    show();
    btn.addEventListener("click", () => {
      root.dataset.theme = isDark() ? "light" : "dark";
      try { localStorage.setItem(KEY, root.dataset.theme); } catch (e) { /* private mode: this page only */ }
      show();
    });
  });
})();
