/* The dashboard's filter bar: typing a date chooses "custom dates"; a preset period leaves
   the dates out of the address, so a shared link keeps meaning "the last 7 days". */
(function () {
  "use strict";
  var form = document.getElementById("dashboard-filters");
  if (!form) { return; }
  var range = form.querySelector('select[name="range"]');
  var dates = form.querySelectorAll("[data-custom-date]");
  dates.forEach(function (input) {
    input.addEventListener("change", function () { if (range) { range.value = "custom"; } });
  });
  form.addEventListener("submit", function () {
    if (range && range.value !== "custom") {
      dates.forEach(function (input) { input.disabled = true; });
    }
  });
})();
