// Draws the project's score chart from the JSON the page embeds (the table beside it holds the
// same data, so the page works without this script).
(function () {
  "use strict";
  var canvas = document.getElementById("score-chart");
  var source = document.getElementById("score-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var labels = data.labels.map(function (iso) {
    var d = new Date(iso);
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
      d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  });
  new Chart(canvas, {
    type: "line",
    data: {
      labels: labels,
      datasets: [{
        label: "Quality score",
        data: data.scores,
        borderColor: "#1a7f64",
        backgroundColor: "rgba(26, 127, 100, 0.12)",
        fill: true,
        tension: 0.2,
        pointRadius: 2,
      }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        y: { min: 0, max: 100, title: { display: true, text: "score" } },
        x: { ticks: { maxTicksLimit: 10, autoSkip: true } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { afterLabel: function (ctx) { return data.kinds[ctx.dataIndex] + " checkpoint"; } } },
      },
    },
  });
})();
