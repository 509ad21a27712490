// Live filters: changing the site, the event or the labels switch reloads the report at its first page.
(function () {
  "use strict";
  document.querySelectorAll("form.live-filters").forEach(function (form) {
    form.querySelectorAll("select, input[type=checkbox]").forEach(function (input) {
      input.addEventListener("change", function () { form.submit(); });
    });
  });
})();
