// Refund / capture / cancel dialogs on the transaction page: open, close, and keep the
// confirmation sentence in step with the amount typed.
(function () {
  "use strict";
  function formatAmount(value, currency) {
    var number = Number(String(value).replace(",", "."));
    if (!isFinite(number) || number <= 0) return "—";
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, { style: "currency", currency: currency }).format(number);
    } catch (e) {
      return number.toFixed(2) + " " + currency;
    }
  }
  function refresh(form) {
    var amount = form.querySelector("input[name$='amount']");
    var text = form.querySelector("[data-template]");
    if (!amount || !text) return;
    var value = amount.value || form.dataset.available;
    text.textContent = text.dataset.template.split("{amount}").join(formatAmount(value, form.dataset.currency || "EUR"));
  }
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog && dialog.showModal) {
        dialog.showModal();
        var form = dialog.querySelector("[data-op-form]");
        if (form) refresh(form);
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });
  document.addEventListener("input", function (event) {
    var form = event.target.closest("[data-op-form]");
    if (form) refresh(form);
  });
  function openRefused() {
    // A refused submission comes back with its dialog marked: show it again, on the field at fault.
    var dialog = document.querySelector("dialog[data-open-on-load]");
    if (!dialog || !dialog.showModal || dialog.open) return;
    dialog.showModal();
    var form = dialog.querySelector("[data-op-form]");
    if (form) refresh(form);
    var bad = dialog.querySelector(".invalid input, .invalid textarea, .invalid select");
    if (bad) bad.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openRefused);
  } else {
    openRefused();
  }
  window.addEventListener("pageshow", function () {
    // Back from another page: the forms may be sent again (their keys still guard against doubles).
    document.querySelectorAll("[data-op-form][data-sent]").forEach(function (form) { delete form.dataset.sent; });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-op-form]");
    if (!form) return;
    // One click sends once; the idempotency key covers whatever still gets through.
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });
})();
