// Report charts: each <canvas data-report-chart="<id of a json_script>" data-type="bar|line"> is drawn from the
// JSON the page embeds ({labels, datasets: [{label, data}]}). The same numbers are in the table below each chart.
(function () {
  "use strict";
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-report-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.reportChart);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      new Chart(canvas, {
        type: canvas.dataset.type || "bar",
        data: { labels: data.labels, datasets: data.datasets.map(function (d) {
          return { label: d.label, data: d.data.map(Number), tension: 0.2 };
        }) },
        options: { responsive: true, maintainAspectRatio: false }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
