// The new payment request form: show the fields of the chosen method only, and do not send it
// twice. Without JavaScript every field stays visible.
(function () {
  "use strict";
  function start() {
    var form = document.querySelector("[data-testid=pr-form]");
    if (!form) return;
    function show() {
      var checked = form.querySelector("input[name=method]:checked");
      var method = checked ? checked.value : "MBWAY";
      form.querySelectorAll("#id_phone").forEach(function (el) { el.closest(".field").hidden = method !== "MBWAY"; });
      ["#id_reference_entity", "#id_validity"].forEach(function (sel) {
        var el = form.querySelector(sel); if (el) el.closest(".field").hidden = method !== "REFERENCE";
      });
    }
    form.addEventListener("change", show);
    form.addEventListener("submit", function () { form.querySelector("[data-testid=pr-submit]").disabled = true; });
    show();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
