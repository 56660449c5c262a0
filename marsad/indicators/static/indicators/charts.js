/* Draws the indicator panels' charts with the platform's own Plotly. Each chart is a
   <div data-plotly="ID"> whose figure ({data, layout}) the server wrote in <script type="application/json"
   id="ID">; the figures are also in the page's tables, so the page reads without JavaScript. */
(function () {
  "use strict";
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-plotly]").forEach(function (box) {
    var source = document.getElementById(box.dataset.plotly);
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(box, figure.data, figure.layout, { displaylogo: false, responsive: true }).then(function () {
      box.dataset.rendered = String(figure.data.length);
    });
  });
})();
