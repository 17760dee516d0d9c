// Dashboards: draw the server-built plotly figures, open the transaction list on a click, and
// switch each chart to its table (the table is always in the page for screen readers).
(function () {
  "use strict";

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll(".chart-plot[data-figure-id]").forEach(function (div) {
      if (div.dataset.drawn) return;
      var source = document.getElementById(div.dataset.figureId);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      div.dataset.drawn = "1";
      window.Plotly.newPlot(div, figure.data || [], figure.layout || {}, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["lasso2d", "select2d"],
      }).then(function () {
        div.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          if (point && typeof point.customdata === "string" && point.customdata.charAt(0) === "/") {
            window.location.href = point.customdata;
          }
        });
      });
    });
    root.querySelectorAll("[data-table-toggle]").forEach(function (button) {
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var card = button.closest(".chart-card");
        var table = card.querySelector(".chart-table");
        var plot = card.querySelector(".chart-plot");
        var showTable = table.classList.contains("sr-only");
        table.classList.toggle("sr-only", !showTable);
        plot.hidden = showTable;
        button.setAttribute("aria-pressed", showTable ? "true" : "false");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
