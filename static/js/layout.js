// Layout helpers for every page:
// - each table cell carries its column's name (data-label), which the phone layout shows in
//   front of the value when a table turns into one card per row (static/css/app.css);
// - on phones, where the menu is one scrolling row, the current section is scrolled into view.
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
  document.addEventListener("DOMContentLoaded", function () { label(document); showCurrentSection(); });
  document.addEventListener("htmx:afterSwap", function (e) { label(e.target && e.target.ownerDocument ? document : null); });
})();
