// Draws the context size of each turn of a Claude Code session, with its compactions marked,
// from the JSON the page embeds (the figures are also written out below the chart). Turns sit at
// their time (linear axis over epoch milliseconds, ticks in the display zone), straight lines.
(function () {
  "use strict";
  var canvas = document.getElementById("context-chart");
  var source = document.getElementById("context-data");
  if (!canvas || !source || typeof Chart === "undefined" || !window.cairnTime) return;
  var data = JSON.parse(source.textContent);
  var times = data.labels.map(function (iso) { return Date.parse(iso); });
  new Chart(canvas, {
    type: "line",
    // The labels are epoch milliseconds: a linear x axis places each turn at its time.
    data: {
      labels: times,
      datasets: [{
        label: "Context tokens",
        data: data.context,
        borderColor: "#2f5fa7",
        backgroundColor: "rgba(47, 95, 167, 0.12)",
        fill: true,
        tension: 0,
        pointRadius: 0,
      }, {
        label: "Compaction (tokens before)",
        data: data.compactions,
        showLine: false,
        borderColor: "#b3261e",
        backgroundColor: "#b3261e",
        pointStyle: "triangle",
        pointRadius: 7,
      }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        y: { beginAtZero: true, title: { display: true, text: "tokens" } },
        x: cairnTime.axis(times),
      },
      plugins: {
        tooltip: { callbacks: { title: function (items) {
          var i = items[0].dataIndex;
          return "turn " + data.turns[i] + " · " + cairnTime.format(times[i]);
        } } },
      },
    },
  });
})();
