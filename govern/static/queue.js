// Keeps the speakers queue current: every few seconds, fetches the page again and swaps in
// its live part. Without JavaScript, reloading the page shows the same.
(function () {
  var region = document.getElementById("queue-live");
  if (!region || !window.fetch || !window.DOMParser || !region.replaceChildren) { return; }
  var seconds = parseInt(region.dataset.refreshSeconds, 10) || 10;

  function refresh() {
    // Not while the tab is hidden or someone is about to press a button in the region.
    if (document.hidden || region.contains(document.activeElement)) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queue-live");
        if (fresh) { region.replaceChildren.apply(region, Array.from(fresh.childNodes)); }
      })
      .catch(function () { /* Try again at the next tick. */ });
  }

  window.setInterval(refresh, seconds * 1000);
})();
