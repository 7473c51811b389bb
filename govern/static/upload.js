// Shows upload progress for forms marked data-progress; without JavaScript they post as usual.
document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var bar = form.querySelector("progress");
    if (!bar || !window.XMLHttpRequest) { return; }
    event.preventDefault();
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
    request.open(form.method, form.action || window.location.href);
    var data = new FormData(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    request.send(data);
  });
});
