// Partner portal dashboard: monthly volume and commission charts from the JSON the page embeds (json_script).
// The same numbers are in the table next to each chart, so the charts are decoration for sighted users.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("partner-chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var volume = document.getElementById("chart-volume");
    if (volume) {
      new Chart(volume, {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: volume.dataset.label, data: data.volume.map(Number) }] },
        options: { responsive: true, plugins: { legend: { display: false } } }
      });
    }
    var commissions = document.getElementById("chart-commissions");
    if (commissions) {
      var datasets = Object.keys(data.commissions).map(function (currency) {
        return { label: currency, data: data.commissions[currency].map(Number), tension: 0.2 };
      });
      new Chart(commissions, { type: "line", data: { labels: data.labels, datasets: datasets },
                               options: { responsive: true } });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
