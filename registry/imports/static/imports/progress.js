// Follows a running dry run or commit: moves the progress bar, then reloads the page for the outcome.
(function () {
  "use strict";
  var data = document.getElementById("import-status");
  var holder = document.getElementById("import-progress");
  if (!data || !holder) return;
  var status = JSON.parse(data.textContent);
  if (status.finished) return;
  var bar = holder.querySelector(".progress-bar");
  var state = document.getElementById("import-state");

  function show(s) {
    bar.style.width = s.percent + "%"; // CSSOM, which a strict CSP allows (no style attribute in the HTML)
    bar.textContent = s.percent + "%";
    holder.querySelector(".progress").setAttribute("aria-valuenow", String(s.percent));
    state.textContent = s.status + (s.total ? " (" + s.progress + " of " + s.total + " forms)" : "") + "…";
  }

  function poll() {
    fetch(status.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (s) {
        if (s) show(s);
        if (s && s.finished) { window.location.assign(s.page_url); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  show(status);
  poll();
})();
