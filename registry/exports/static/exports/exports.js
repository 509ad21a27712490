// Polls the status of unfinished releases and updates their progress bars and download links.
// Widths are set from script (the Content-Security-Policy refuses inline style attributes).
(function () {
  "use strict";
  var DONE = { ready: true, failed: true, expired: true };

  function update(row, status) {
    row.dataset.status = status.status;
    var bar = row.querySelector(".progress-bar");
    var holder = row.querySelector(".progress");
    bar.style.width = status.percent + "%";
    bar.textContent = status.percent + "%";
    holder.setAttribute("aria-valuenow", String(status.percent));
    bar.classList.toggle("bg-success", status.status === "ready");
    bar.classList.toggle("bg-danger", status.status === "failed");
    row.querySelector(".export-state").textContent = status.status + (status.error ? ": " + status.error : "");
    var cell = row.querySelector(".export-link");
    if (status.download_url && !cell.querySelector("a")) {
      var link = document.createElement("a");
      link.className = "btn btn-sm btn-outline-primary";
      link.href = status.download_url;
      link.textContent = "Download";
      cell.appendChild(link);
    }
  }

  function poll(row) {
    if (DONE[row.dataset.status]) return;
    fetch(row.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status) update(row, status);
        if (!status || !DONE[status.status]) window.setTimeout(function () { poll(row); }, 1000);
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, 3000); });
  }

  document.querySelectorAll("tr.export-release .progress-bar").forEach(function (bar) {
    bar.style.width = (bar.dataset.percent || "0") + "%";
  });
  document.querySelectorAll("tr.export-release").forEach(poll);
})();
