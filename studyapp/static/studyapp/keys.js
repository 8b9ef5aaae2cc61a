// Keyboard shortcuts for the study page. Every control is a real button or link, so this only
// maps keys to clicks: space/enter reveal, 1-4 grade, a-d choose, u undo.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      // Escape leaves the answer field, so the letter keys (u undo) work again.
      if (event.key === "Escape" && target.blur) target.blur();
      return;
    }
    var stage = document.getElementById("stage");
    if (!stage) return;
    // A card HTMX has just swapped in is wired up (and focused) only when the swap settles;
    // a click before that would submit its form as a full page load. Ignore keys till then.
    if (stage.classList.contains("htmx-settling")) {
      event.preventDefault();
      return;
    }
    var key = event.key.toLowerCase();
    var button;
    if (key === " " || key === "enter") {
      // A focused button already answers to space and enter.
      if (target.tagName === "BUTTON" || target.tagName === "A") return;
      button = stage.querySelector('[data-key="reveal"]');
    } else {
      button = document.querySelector('[data-key="' + key + '"]');
    }
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
  // Suggest the browser's time zone on the settings page.
  var hint = document.getElementById("tz-hint");
  if (hint && window.Intl) {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var select = document.getElementById("id_time_zone");
    if (tz && select) {
      hint.querySelector("[data-browser-tz]").textContent = tz;
      hint.hidden = false;
      if (select.value === "UTC" && tz !== "UTC") select.value = tz;
    }
  }
})();
