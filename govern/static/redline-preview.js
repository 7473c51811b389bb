// Updates the redline below the draft form as the proposer types. Without JavaScript the
// "Preview the redline" button shows the same redline after a round trip.
(function () {
  var DELAY_MS = 400;
  var form = document.querySelector("form[data-preview-url]");
  var region = document.getElementById("redline-preview");
  var status = document.getElementById("redline-status");
  if (!form || !region || !window.fetch || !window.FormData || !window.AbortController ||
      !window.DOMParser || !region.replaceChildren) { return; }
  var text = form.querySelector("textarea[name=proposed_text]");
  if (!text) { return; }
  var timer = null;
  var pending = null;

  function show(node, announcement) {
    region.replaceChildren(node);
    if (status) { status.textContent = announcement; }
  }

  function showFailure() {
    var message = document.createElement("p");
    message.className = "error-message";
    message.textContent = region.dataset.failedMessage;
    show(message, region.dataset.failedMessage);
  }

  // A preview of a text the proposer is still changing is out of date before it arrives.
  function cancelPending() {
    if (pending) {
      pending.abort();
      pending = null;
      region.removeAttribute("aria-busy");
    }
  }

  function updatePreview() {
    cancelPending();
    var request = new AbortController();
    pending = request;
    region.setAttribute("aria-busy", "true");
    // The server answers with the fragment, or with why there is none (too large, a
    // section changed meanwhile); anything else, such as a sign-in page, is a failure.
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      redirect: "error",
      headers: { "Accept": "text/html" },
      signal: request.signal
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      if (pending !== request) { return; }
      var page = new DOMParser().parseFromString(html, "text/html");
      var fragment = page.querySelector("[data-preview-fragment]");
      if (fragment) {
        show(document.importNode(fragment, true), status && status.dataset.updatedMessage);
      } else {
        showFailure();
      }
    }).catch(function (error) {
      if (error.name !== "AbortError" && pending === request) { showFailure(); }
    }).finally(function () {
      if (pending === request) {
        pending = null;
        region.removeAttribute("aria-busy");
      }
    });
  }

  // Leaving the page (another section, a link) would lose what was typed since the last save.
  var unsaved = false;
  form.addEventListener("input", function () { unsaved = true; });
  form.addEventListener("submit", function () { unsaved = false; });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ""; }
  });

  text.addEventListener("input", function () {
    cancelPending();
    clearTimeout(timer);
    timer = setTimeout(updatePreview, DELAY_MS);
  });
})();
