// Poll a background job's progress and reload the page when it has finished.
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var bar = document.getElementById("job-progress");
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.percent;
        if (job.finished) { window.location.reload(); }
        else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
