// Draws the checkpoint page's score and coverage trends from the JSON the page embeds.
// Not-measured points are null, which Chart.js leaves as gaps instead of drawing them as 0.
(function () {
  "use strict";
  var source = document.getElementById("trend-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);

  function draw(canvasId, series) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !series) return;
    var labels = series.labels.map(function (iso) {
      var d = new Date(iso);
      return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
        d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    });
    var current = series.ids.indexOf(data.current);
    var radius = series.ids.map(function (id, i) { return i === current ? 5 : 2; });
    new Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          { label: "Quality score", data: series.scores, borderColor: "#1a7f64",
            backgroundColor: "#1a7f64", tension: 0.2, pointRadius: radius, spanGaps: false },
          { label: "Line coverage %", data: series.coverage, borderColor: "#3b6ea8",
            backgroundColor: "#3b6ea8", borderDash: [4, 3], tension: 0.2, pointRadius: radius,
            spanGaps: false },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: { min: 0, max: 100 },
          x: { ticks: { maxTicksLimit: 10, autoSkip: true } },
        },
        plugins: {
          tooltip: { callbacks: { afterLabel: function (ctx) {
            return series.kinds[ctx.dataIndex] + " checkpoint #" + series.ids[ctx.dataIndex];
          } } },
        },
      },
    });
  }

  draw("session-trend", data.session);
  draw("project-trend", data.project);
})();
