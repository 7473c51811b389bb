// The mailed voting link ends in "#<token>": browsers never send what follows "#" to the
// server, so the token is in no access log and no Referer. This script puts it in the
// voting-code field, takes it out of the address bar (and so out of the history), and
// posts the form. Without JavaScript the member pastes the code from the mail instead.
(function () {
  var form = document.getElementById("voting-code-form");
  if (!form) { return; }
  var field = form.querySelector("input[name=token]");
  var token = window.location.hash.replace(/^#/, "");
  if (!field || !token) { return; }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  // A token is letters, digits, "-" and "_"; anything else is no link of ours.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(token)) { return; }
  field.value = token;
  var status = document.getElementById("voting-code-status");
  if (status) { status.textContent = status.dataset.openingMessage || ""; }
  HTMLFormElement.prototype.submit.call(form);
}());
