// Draws the project's score chart from the JSON the page embeds (the table beside it holds the
// same data, so the page works without this script). Points sit at their time (a linear axis
// over epoch milliseconds, ticks in the display zone), joined by straight lines (no smoothing:
// a curve would draw dips between checkpoints that never happened); a click opens the checkpoint.
(function () {
  "use strict";
  var canvas = document.getElementById("score-chart");
  var source = document.getElementById("score-data");
  if (!canvas || !source || typeof Chart === "undefined" || !window.cairnTime) return;
  var data = JSON.parse(source.textContent);
  var times = data.labels.map(function (iso) { return Date.parse(iso); });
  new Chart(canvas, {
    type: "line",
    // The labels are epoch milliseconds: a linear x axis places each score at its time.
    data: {
      labels: times,
      datasets: [{
        label: "Quality score",
        data: data.scores,
        borderColor: "#1a7f64",
        backgroundColor: "rgba(26, 127, 100, 0.12)",
        fill: true,
        tension: 0,
        pointRadius: 3,
        pointHoverRadius: 6,
      }],
    },
    options: cairnTime.linkPoints({
      animation: false,
      maintainAspectRatio: false,
      scales: {
        y: { min: 0, max: 100, title: { display: true, text: "score" } },
        x: cairnTime.axis(times),
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: {
          title: function (items) { return cairnTime.format(times[items[0].dataIndex]); },
          afterLabel: function (ctx) {
            return data.kinds[ctx.dataIndex] + " checkpoint #" + data.ids[ctx.dataIndex] + " (click to open)";
          },
        } },
      },
    }, data.urls),
  });
})();
