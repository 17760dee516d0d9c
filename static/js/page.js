// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can refuse
// inline scripts: choices that apply themselves, copy buttons, and the webhook form's type
// switch (confirmations, <form data-confirm>, are asked in a styled dialog by layout.js).
// Without JavaScript every form still works (it just asks nothing).
(function () {
  "use strict";

  // <select data-autosubmit>: submit its form on change; <select data-navigate>: go to the
  // chosen option's value (a URL).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLSelectElement)) { return; }
    if (field.hasAttribute("data-navigate")) {
      window.location.href = field.value;
    } else if (field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  // <form data-navigate-form>: go to the URL chosen in its first select instead of submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-navigate-form")) {
      var select = form.querySelector("select");
      if (select) {
        event.preventDefault();
        window.location.href = select.value;
      }
    }
  });

  // <button data-copy="element-id" data-done="Copied">: copy that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button || !navigator.clipboard) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      if (button.dataset.done) { button.textContent = button.dataset.done; }
    });
  });

  // A poller (hx-trigger="every …") with data-poll-paused-by="<selector>" skips its turn while
  // the page is hidden or something matching the selector is in use (an open dialog, a form
  // being filled). Decided here rather than in an hx-trigger filter: htmx evaluates those as
  // strings, which the Content-Security-Policy forbids.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.dataset || !elt.dataset.pollPausedBy) { return; }
    if (document.visibilityState !== "visible" || document.querySelector(elt.dataset.pollPausedBy)) {
      event.preventDefault();
    }
  });

  // <button data-print>: print the page.
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) { window.print(); }
  });

  // The new-webhook form: show the fields of the chosen type only.
  function syncWebhookForm(form) {
    var checked = form.querySelector("input[name=kind]:checked");
    var kind = checked ? checked.value : "url";
    form.querySelectorAll(".wh-group").forEach(function (group) { group.hidden = group.dataset.kind !== kind; });
    var enter = form.querySelector("input[name=key_choice]:checked");
    var key = form.querySelector("[data-field=encryption_key]");
    if (key) { key.hidden = !(enter && enter.value === "enter"); }
  }

  function start() {
    document.querySelectorAll("form[data-kind-switch]").forEach(function (form) {
      form.addEventListener("change", function () { syncWebhookForm(form); });
      syncWebhookForm(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
