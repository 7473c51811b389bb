// Keeps the count of members present on the meeting and attendance pages up to date.
// Without JavaScript the page shows the count it was rendered with; reloading updates it.
(function () {
  var INTERVAL_MS = 5000;
  var box = document.querySelector("[data-presence-url]");
  if (!box || !window.fetch || !box.querySelectorAll) { return; }
  var counts = box.querySelectorAll("[data-count-key]");
  var pending = false;

  function show(data) {
    Array.prototype.forEach.call(counts, function (element) {
      var number = data[element.dataset.countKey];
      if (typeof number !== "number") { return; }
      var sentence = (number === 1 ? element.dataset.one : element.dataset.other) || "";
      var text = sentence.replace("{n}", String(number));
      if (text && element.textContent !== text) { element.textContent = text; }
    });
  }

  function refresh() {
    // A hidden tab asks nothing; it catches up when it is shown again.
    if (pending || document.hidden) { return; }
    pending = true;
    fetch(box.dataset.presenceUrl, {
      credentials: "same-origin",
      redirect: "error",
      cache: "no-store",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("presence " + response.status); }
      return response.json();
    }).then(show).catch(function () {
      // The count stays as it was; the next tick tries again.
    }).then(function () {
      pending = false;
    });
  }

  window.setInterval(refresh, INTERVAL_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
}());
