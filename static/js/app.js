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

// List pages: row checkboxes, "select the page", "select all N matching", and the bulk buttons
// that stay disabled until something is selected.
(function () {
  "use strict";
  function bar() { return document.querySelector("[data-bulk]"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".row-check")); }
  function refresh() {
    var form = bar();
    if (!form) { return; }
    var all = form.querySelector("[data-select-all]");
    var label = form.querySelector("[data-selected-label]");
    var allButton = document.querySelector("[data-select-all-button]");
    var checked = rows().filter(function (box) { return box.checked; }).length;
    var selectingAll = all && all.value === "1";
    // The offer goes with its " · " separator once taken.
    if (allButton) { (allButton.closest("[data-select-all-offer]") || allButton).hidden = selectingAll; }
    if (selectingAll && allButton) {
      label.textContent = allButton.getAttribute("data-label-all");
    } else {
      label.textContent = checked ? label.getAttribute("data-some").replace("%(n)s", checked) : label.getAttribute("data-none");
    }
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = !(checked || selectingAll);
    });
    var page = document.getElementById("select-page");
    if (page) { page.checked = rows().length > 0 && checked === rows().length; }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      rows().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.id === "select-page" || target.classList.contains("row-check")) {
      var all = document.querySelector("[data-select-all]");
      if (all && !target.checked) { all.value = "0"; }
      refresh();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-select-all-button]");
    if (!button) { return; }
    document.querySelector("[data-select-all]").value = "1";
    rows().forEach(function (box) { box.checked = true; });
    refresh();
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSwap", refresh);
})();
