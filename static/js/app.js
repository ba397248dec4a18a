// Site-wide behaviour, kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  // A form with data-confirm asks before it is sent (destructive or state-changing actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
