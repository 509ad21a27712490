// Live progress of a data-quality run: polls the run's status and reloads the page when it is done.
(function () {
  "use strict";
  var box = document.getElementById("dq-progress");
  if (!box) { return; }
  var url = box.dataset.statusUrl;
  var bar = box.querySelector(".progress-bar");
  var holder = box.querySelector(".progress");
  var waiting = box.querySelector("[data-testid=run-waiting]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        var percent = Math.round((100 * state.progress) / (state.total || 100));
        bar.style.width = percent + "%";
        bar.textContent = percent + "%";
        holder.setAttribute("aria-valuenow", String(percent));
        if (waiting) { waiting.textContent = state.status === "queued" ? state.error : ""; }
        if (state.finished || state.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
