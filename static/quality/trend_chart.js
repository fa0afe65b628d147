// Draws the checkpoint page's score and coverage trends from the JSON the page embeds.
// Not-measured points are null, which Chart.js leaves as gaps instead of drawing them as 0.
// Points sit at their time (linear axis over epoch milliseconds, ticks in the display zone),
// joined by straight lines; a click on a point opens its checkpoint.
(function () {
  "use strict";
  var source = document.getElementById("trend-data");
  if (!source || typeof Chart === "undefined" || !window.cairnTime) return;
  var data = JSON.parse(source.textContent);

  function draw(canvasId, series) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !series) return;
    var times = series.labels.map(function (iso) { return Date.parse(iso); });
    var current = series.ids.indexOf(data.current);
    var radius = series.ids.map(function (id, i) { return i === current ? 6 : 3; });
    new Chart(canvas, {
      type: "line",
      // The labels are epoch milliseconds: a linear x axis places each point at its time.
      data: {
        labels: times,
        datasets: [
          { label: "Quality score", data: series.scores, borderColor: "#1a7f64",
            backgroundColor: "#1a7f64", tension: 0, pointRadius: radius, spanGaps: false },
          { label: "Line coverage %", data: series.coverage, borderColor: "#3b6ea8",
            backgroundColor: "#3b6ea8", borderDash: [4, 3], tension: 0, pointRadius: radius,
            spanGaps: false },
        ],
      },
      options: cairnTime.linkPoints({
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100 }, x: cairnTime.axis(times) },
        plugins: {
          tooltip: { callbacks: {
            title: function (items) { return cairnTime.format(times[items[0].dataIndex]); },
            afterLabel: function (ctx) {
              return series.kinds[ctx.dataIndex] + " checkpoint #" + series.ids[ctx.dataIndex] +
                " (click to open)";
            },
          } },
        },
      }, series.urls),
    });
  }

  draw("session-trend", data.session);
  draw("project-trend", data.project);
})();
