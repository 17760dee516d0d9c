// Layout helpers for every page:
// - each table cell carries its column's name (data-label), which the phone layout shows in
//   front of the value when a table turns into one card per row (static/css/app.css);
// - on phones, where the menu is one scrolling row, the current section is scrolled into view;
// - a list marked data-remember-list="<name>" remembers its address (filters, search, page) for
//   this tab, and a link marked data-back-to="<name>" (a detail page's "← Transactions") returns
//   to it rather than to the list's first page;
// - a form with data-confirm asks first, in a dialog styled like the money actions' ones (the
//   browser's own confirm() pop-up otherwise), with data-confirm-button naming the action.
(function () {
  function label(root) {
    (root || document).querySelectorAll("table.table").forEach(function (table) {
      var heads = table.tHead ? Array.from(table.tHead.rows[0] ? table.tHead.rows[0].cells : []) : [];
      if (!heads.length) return;
      var names = [];
      heads.forEach(function (th) {
        for (var i = 0; i < (th.colSpan || 1); i++) names.push(th.textContent.trim());
      });
      Array.from(table.tBodies).forEach(function (body) {
        Array.from(body.rows).forEach(function (row) {
          var col = 0;
          Array.from(row.cells).forEach(function (cell) {
            if (!cell.hasAttribute("data-label") && names[col]) cell.setAttribute("data-label", names[col]);
            col += cell.colSpan || 1;
          });
        });
      });
    });
  }
  function showCurrentSection() {
    var active = document.querySelector(".sidenav a.active");
    var menu = active && active.closest(".sidenav");
    if (!menu || menu.scrollWidth <= menu.clientWidth) return;
    menu.scrollLeft = active.offsetLeft - (menu.clientWidth - active.offsetWidth) / 2;
  }
  var asking = null;
  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "op-dialog";
    dialog.setAttribute("data-testid", "confirm-dialog");
    dialog.innerHTML = '<p class="op-confirm" data-confirm-text></p><div class="op-buttons">' +
      '<button type="button" class="primary" data-confirm-yes></button>' +
      '<button type="button" data-confirm-no></button></div>';
    document.body.appendChild(dialog);
    dialog.querySelector("[data-confirm-no]").addEventListener("click", function () { asking = null; dialog.close(); });
    dialog.querySelector("[data-confirm-yes]").addEventListener("click", function () {
      var form = asking;
      asking = null;
      dialog.close();
      if (form) { form.dataset.confirmed = "1"; form.requestSubmit ? form.requestSubmit() : form.submit(); }
    });
    return dialog;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    if (form.dataset.confirmed) { delete form.dataset.confirmed; return; }
    event.preventDefault();
    var dialog = confirmDialog();
    if (!dialog.showModal) { if (window.confirm(form.dataset.confirm)) { form.dataset.confirmed = "1"; form.submit(); } return; }
    var button = form.querySelector("button[type=submit], button:not([type])");
    dialog.querySelector("[data-confirm-text]").textContent = form.dataset.confirm;
    dialog.querySelector("[data-confirm-yes]").textContent = form.dataset.confirmButton || (button ? button.textContent.trim() : "OK");
    dialog.querySelector("[data-confirm-yes]").className = button && button.classList.contains("danger") ? "primary danger-fill" : "primary";
    dialog.querySelector("[data-confirm-no]").textContent = document.body.dataset.cancelLabel || "Cancel";
    asking = form;
    dialog.showModal();
  }, true);
  function rememberList() {
    var marker = document.querySelector("[data-remember-list]");
    if (!marker) return;
    try { sessionStorage.setItem("list:" + marker.dataset.rememberList, location.pathname + location.search); } catch (e) {}
  }
  function linkBack() {
    document.querySelectorAll("a[data-back-to]").forEach(function (link) {
      var stored = null;
      try { stored = sessionStorage.getItem("list:" + link.dataset.backTo); } catch (e) {}
      var base = new URL(link.href, location.href).pathname;
      // Only an address of that same list, on this site.
      if (stored && stored.indexOf(base) === 0 && stored.indexOf("//") === -1) link.setAttribute("href", stored);
    });
  }
  document.addEventListener("htmx:pushedIntoHistory", rememberList);
  document.addEventListener("htmx:replacedInHistory", rememberList);
  document.addEventListener("DOMContentLoaded", function () { label(document); showCurrentSection(); rememberList(); linkBack(); });
  document.addEventListener("htmx:afterSwap", function (e) { label(e.target && e.target.ownerDocument ? document : null); });
})();
