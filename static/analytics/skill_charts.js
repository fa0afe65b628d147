// The skill page's charts, from the JSON the page embeds (the tables beside them hold the same
// figures, so the page reads without this script). Each trend chart draws the daily points,
// joined by straight lines, and the Theil–Sen line between the first and last day kept; the
// x axis is time (a linear axis over epoch milliseconds, ticks in the display zone, as the
// score charts). A day's point sits at the middle of its UTC day, so its date reads the same
// in any display zone within 12 hours of UTC.
(function () {
  "use strict";
  var source = document.getElementById("skill-charts");
  if (!source || typeof Chart === "undefined" || !window.cairnTime) return;
  var data = JSON.parse(source.textContent);
  var HALF_DAY = 43200000;
  var UNITS = { completion_rate: "completion rate (%)", duration: "mean duration (s)", volume: "invocations" };

  function at(iso) { return Date.parse(iso) + HALF_DAY; }

  // The time axis over the whole window (not widened to the ticks around the points, which
  // would squeeze a short window), ticked on whole UTC days, at most ~8 of them.
  function windowAxis(startIso, endIso) {
    var start = Date.parse(startIso), end = Date.parse(endIso);
    var axis = cairnTime.axis([start, end]);
    var days = Math.max(1, Math.round((end - start) / 86400000));
    axis.min = start;
    axis.max = end;
    axis.ticks.stepSize = 86400000 * Math.max(1, Math.ceil(days / 8));
    return axis;
  }
  function shown(metric, y) { return metric === "completion_rate" ? y * 100 : y; }

  data.trends.forEach(function (trend) {
    var canvas = document.getElementById("trend-" + trend.metric);
    if (!canvas) return;
    var points = trend.points.map(function (p) { return { x: at(p.t), y: shown(trend.metric, p.y), n: p.n }; });
    var datasets = [{
      label: "daily value", data: points, borderColor: "#3b6ea8", backgroundColor: "#3b6ea8",
      tension: 0, pointRadius: 3, pointHoverRadius: 6, borderWidth: 1.5,
    }];
    if (trend.sen_line) {
      datasets.push({
        label: "Theil–Sen line", data: trend.sen_line.map(function (p) { return { x: at(p.t), y: shown(trend.metric, p.y) }; }),
        borderColor: "#1a7f64", backgroundColor: "#1a7f64", borderDash: [6, 4], borderWidth: 2,
        tension: 0, pointRadius: 0, pointHoverRadius: 0,
      });
    }
    new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: true,
        scales: {
          x: windowAxis(trend.window_start, trend.window_end),
          y: trend.metric === "completion_rate"
            ? { min: 0, max: 100, title: { display: true, text: UNITS[trend.metric] } }
            : { beginAtZero: true, title: { display: true, text: UNITS[trend.metric] } },
        },
        plugins: {
          legend: { display: true, position: "bottom" },
          tooltip: { callbacks: {
            title: function (items) {
              return "UTC day " + new Date(items[0].parsed.x - HALF_DAY).toISOString().slice(0, 10);
            },
            afterLabel: function (ctx) {
              var n = ctx.raw && ctx.raw.n;
              return n === undefined ? "" : "n = " + n;
            },
          } },
        },
      },
    });
  });

  var canvas = document.getElementById("duration-percentiles");
  var periods = data.percentiles;
  if (canvas && periods.t.length) {
    var times = periods.t.map(function (iso) { return Date.parse(iso) + HALF_DAY; });
    var series = [["p50", "#1a7f64"], ["p90", "#3b6ea8"], ["p95", "#bf8700"]];
    new Chart(canvas, {
      type: "line",
      data: {
        labels: times,
        datasets: series.map(function (s) {
          return { label: s[0], data: periods[s[0]], borderColor: s[1], backgroundColor: s[1],
            tension: 0, pointRadius: 3, spanGaps: false };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: windowAxis(data.window_start, data.window_end), y: { beginAtZero: true, title: { display: true, text: "seconds" } } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: {
            title: function (items) { return "from UTC day " + periods.t[items[0].dataIndex].slice(0, 10); },
            afterLabel: function (ctx) { return "n = " + periods.n[ctx.dataIndex] + " durations"; },
          } },
        },
      },
    });
  }
})();
