/* The watch editor: "Go to the error" puts the cursor on the character where the query
   check found a problem. The check and the preview themselves are htmx fragments. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-query-goto]");
    if (!button) { return; }
    var field = document.getElementById("query");
    if (!field) { return; }
    var position = parseInt(button.getAttribute("data-query-goto"), 10) || 0;
    position = Math.max(0, Math.min(position, field.value.length));
    field.focus();
    field.setSelectionRange(position, Math.min(position + 1, field.value.length));
  });
})();
