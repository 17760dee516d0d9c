// Each table cell carries its column's name (data-label), which the phone layout shows in front
// of the value when a table turns into one card per row (static/css/app.css).
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
  document.addEventListener("DOMContentLoaded", function () { label(document); });
  document.addEventListener("htmx:afterSwap", function (e) { label(e.target && e.target.ownerDocument ? document : null); });
})();
