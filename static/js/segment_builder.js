// The segment builder's live count never shows a number for a form that is no longer on
// screen. Any edit marks the count stale ("Counting…") at once, before the debounced request
// leaves; every preview request carries a sequence number, the server echoes it, and an
// answer for an older form is dropped instead of swapped in.
(function () {
  var form = document.getElementById("segment-form");
  var preview = document.getElementById("preview");
  if (!form || !preview) return;
  var seq = 0;

  function isPreview(detail) {
    var path = (detail.requestConfig && detail.requestConfig.path) || detail.path || "";
    return path.indexOf("/builder/preview/") !== -1;
  }
  function markStale() {
    preview.classList.add("is-stale");
    preview.setAttribute("aria-busy", "true");
  }

  form.addEventListener("input", markStale);
  form.addEventListener("change", markStale);
  document.body.addEventListener("segment-builder-changed", markStale);
  form.addEventListener("htmx:beforeRequest", function (event) {
    if (!isPreview(event.detail)) markStale(); // a structural edit: a new count will follow
  });
  form.addEventListener("htmx:configRequest", function (event) {
    if (!isPreview(event.detail)) return;
    seq += 1;
    event.detail.headers["X-Preview-Seq"] = String(seq);
    markStale();
  });
  form.addEventListener("htmx:beforeSwap", function (event) {
    if (!isPreview(event.detail)) return;
    var answered = event.detail.xhr.getResponseHeader("X-Preview-Seq");
    if (answered && Number(answered) !== seq) {
      event.detail.shouldSwap = false; // an answer for a form that has changed since
      return;
    }
  });
  form.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== preview) return;
    var answered = event.detail.xhr.getResponseHeader("X-Preview-Seq");
    if (!answered || Number(answered) === seq) {
      preview.classList.remove("is-stale");
      preview.removeAttribute("aria-busy");
    }
  });
})();
