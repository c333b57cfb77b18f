// Switch the interface language as soon as one is picked (kept out of the page: the CSP allows no inline handlers).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("lang-select");
  if (select) select.addEventListener("change", () => select.form.submit());
});
