// Small behaviours declared in markup, so no page needs an inline event handler (the
// Content-Security-Policy allows no inline script without a nonce):
//   <form data-confirm="Delete it?">  asks before submitting;
//   <select data-autosubmit>          submits its form on change;
//   <button data-copy="element-id">   copies that element's text;
//   <button data-dismiss>             removes its parent (flash messages).
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) field.form.submit();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy], [data-dismiss]");
    if (!button) return;
    if (button.hasAttribute("data-dismiss")) {
      button.parentElement.remove();
      return;
    }
    var source = document.getElementById(button.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    }
  });
})();

// The app shell's navigation drawer. Below the breakpoint in app.css the sidebar hides behind
// the menu button; this opens and closes it, keeps aria-expanded true to what is shown and
// puts focus where a keyboard user expects it: into the drawer when it opens, back on the
// button when Escape or the backdrop closes it.
(function () {
  var toggle = document.getElementById("menu-toggle");
  var sidebar = document.getElementById("sidebar");
  if (!toggle || !sidebar) return;
  var shell = sidebar.closest(".shell");
  var backdrop = shell.querySelector(".sidebar-backdrop");
  var narrow = window.matchMedia("(max-width: 899px)");  // keep in step with app.css

  function isOpen() { return shell.classList.contains("nav-open"); }

  function open() {
    shell.classList.add("nav-open");
    backdrop.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    var first = sidebar.querySelector(".nav-item.active") || sidebar.querySelector("a[href], button, summary");
    if (first) first.focus();
  }

  function close(returnFocus) {
    if (!isOpen()) return;
    shell.classList.remove("nav-open");
    backdrop.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (returnFocus) toggle.focus();
  }

  toggle.addEventListener("click", function () { isOpen() ? close(true) : open(); });
  backdrop.addEventListener("click", function () { close(true); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) close(true);
  });
  // Tabbing out of the open drawer closes it, rather than leaving it over the page.
  document.addEventListener("focusin", function (event) {
    if (isOpen() && !sidebar.contains(event.target) && event.target !== toggle) close(false);
  });
  // Widening past the breakpoint shows the sidebar in place; forget the drawer state.
  narrow.addEventListener("change", function (event) { if (!event.matches) close(false); });
})();

// A table wider than its box scrolls sideways; a keyboard user reaches that scroll only if
// the box can take focus. Wide ones become a focusable, named region (axe:
// scrollable-region-focusable); ones that fit stay out of the tab order.
(function () {
  function label(box) {
    var table = box.querySelector("table");
    var caption = table && table.querySelector("caption");
    var heading = box.closest("section, .card");
    heading = heading && heading.querySelector("h2, h3");
    return (caption || heading || {}).textContent || "Table";
  }
  function mark() {
    document.querySelectorAll(".table-wrap, .card:has(table.table:not(.table-wrap > table))").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box).trim() + " (scrolls sideways)");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  document.addEventListener("htmx:afterSettle", mark);
  window.addEventListener("resize", mark);
})();

// <select data-insert-into="field-id">: choosing an option inserts its value (a merge tag) at
// the cursor of that field, then announces an input so live previews refresh.
(function () {
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.dataset || !picker.dataset.insertInto || !picker.value) return;
    var field = document.getElementById(picker.dataset.insertInto);
    if (!field) return;
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + picker.value + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + picker.value.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    picker.value = "";
  });
})();
