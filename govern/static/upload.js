// Shows upload progress for forms marked data-progress; without JavaScript they post as usual.
document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var bar = form.querySelector("progress");
    if (!bar || !window.XMLHttpRequest || form.dataset.plainPost) { return; }
    event.preventDefault();
    var submitter = event.submitter;
    var request = new XMLHttpRequest();
    bar.hidden = false;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        bar.textContent = bar.value + "%";
      }
    });
    request.addEventListener("load", function () {
      document.open();
      document.write(request.responseText);
      document.close();
      history.replaceState(null, "", request.responseURL);
    });
    // If the upload fails on the way, post the form the ordinary way so the browser
    // shows what happened instead of a progress bar that never moves.
    function postPlainly() {
      form.dataset.plainPost = "1";
      bar.hidden = true;
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    }
    request.addEventListener("error", postPlainly);
    request.addEventListener("abort", postPlainly);
    request.open(form.method, form.action || window.location.href);
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    request.send(data);
  });
});
