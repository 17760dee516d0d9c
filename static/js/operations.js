// Refund / capture / cancel dialogs on the transaction page: open, close, and keep the
// confirmation sentence in step with the amount typed.
(function () {
  "use strict";
  // The same reading and writing of amounts as common/money.py (parse_money, format_money):
  // "1.234,56", "1 234,56", "1,234.56" and "84,51" are all understood; Portuguese shows
  // "1 234,56 €", English "€1,234.56".
  var MINOR = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, XOF: 0, XAF: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, LYD: 3, IQD: 3 };
  function places(currency) { return currency in MINOR ? MINOR[currency] : 2; }
  function parseAmount(text, currency) {
    var p = places(currency);
    var s = String(text || "").replace(/[\s\u00a0\u202f\u2009'€$£¥]|[A-Z]{3}|R\$/g, "");
    if (!s || /[^0-9.,]/.test(s)) return null;
    var comma = s.lastIndexOf(","), dot = s.lastIndexOf("."), mark = "";
    if (comma >= 0 && dot >= 0) mark = comma > dot ? "," : ".";
    else if (comma >= 0) mark = s.split(",").length === 2 ? "," : "";
    else if (dot >= 0) mark = s.split(".").length === 2 && !(s.length - dot - 1 === 3 && p < 3) ? "." : "";
    var integer = mark ? s.slice(0, s.lastIndexOf(mark)) : s;
    var fraction = mark ? s.slice(s.lastIndexOf(mark) + 1) : "";
    var group = mark === "," ? "." : mark === "." ? "," : (integer.indexOf(".") >= 0 ? "." : ",");
    var groups = integer.split(group);
    if (groups.length > 1 && (!groups[0] || groups[0].length > 3 || groups.slice(1).some(function (g) { return g.length !== 3; }))) return null;
    var digits = groups.join("");
    if (!/^\d+$/.test(digits) || (mark && !/^\d+$/.test(fraction)) || fraction.length > p) return null;
    return { integer: digits.replace(/^0+(?=\d)/, ""), fraction: (fraction + "000").slice(0, p) };
  }
  function formatAmount(value, currency) {
    var n = parseAmount(value, currency);
    if (!n || !/[1-9]/.test(n.integer + n.fraction)) return "—";
    var pt = (document.documentElement.lang || "en").slice(0, 2) === "pt";
    var grouped = n.integer.replace(/\B(?=(\d{3})+(?!\d))/g, pt ? "\u202f" : ",");
    var text = grouped + (n.fraction ? (pt ? "," : ".") + n.fraction : "");
    if (currency === "EUR") return pt ? text + "\u00a0€" : "€" + text;
    return pt ? text + "\u00a0" + currency : currency + "\u00a0" + text;
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
