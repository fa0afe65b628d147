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
  function points(values) {
    return times.map(function (t, i) { return { x: t, y: values[i], turn: data.turns[i] }; });
  }
  new Chart(canvas, {
    type: "line",
    data: {
      datasets: [{
        label: "Context tokens",
        data: points(data.context),
        borderColor: "#2f5fa7",
        backgroundColor: "rgba(47, 95, 167, 0.12)",
        fill: true,
        tension: 0,
        pointRadius: 0,
      }, {
        label: "Compaction (tokens before)",
        data: points(data.compactions),
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
          return "turn " + items[0].raw.turn + " · " + cairnTime.format(items[0].raw.x);
        } } },
      },
    },
  });
})();
