/* The mentions pages: a bulk action whose button carries data-confirm (muting) asks first.
   app.js confirms whole forms; here the question belongs to the button that was pressed.
   Without JavaScript the forms work the same, without the question. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
})();
