// The one way Cairn's scripts write a moment: in the display zone the page names
// (<html data-tz>, from CAIRN_DISPLAY_TZ; also in the footer), as "2026-12-01 16:37:05", the
// same as the tables the server renders (lib.formatting.DATETIME_STRFTIME).
(function () {
  "use strict";
  var zone = document.documentElement.dataset.tz || "UTC";
  var parts;
  try {
    parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  } catch (e) {
    zone = "UTC";
    parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function fields(value) {
    var out = {};
    parts.formatToParts(value instanceof Date ? value : new Date(value)).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  // "2026-12-01 16:37:05"
  function format(value) {
    var f = fields(value);
    return f.year + "-" + f.month + "-" + f.day + " " + f.hour + ":" + f.minute + ":" + f.second;
  }

  // A chart tick: the same format, cut to what the axis's span needs to tell ticks apart.
  function tick(value, spanMs) {
    var f = fields(value);
    if (spanMs > 3 * 86400000) return f.year + "-" + f.month + "-" + f.day;
    if (spanMs > 600000) return f.month + "-" + f.day + " " + f.hour + ":" + f.minute;
    return f.hour + ":" + f.minute + ":" + f.second;
  }

  // A time axis for Chart.js without a date adapter: a linear scale over epoch milliseconds,
  // so points sit at their moment (not evenly spaced), with ticks in the display zone.
  function axis(times) {
    var known = times.filter(function (t) { return typeof t === "number"; });
    var min = Math.min.apply(null, known);
    var max = Math.max.apply(null, known);
    if (!known.length) { min = 0; max = 1; }
    if (min === max) { min -= 60000; max += 60000; }
    var span = max - min;
    var pad = span * 0.02;
    return {
      type: "linear", min: min - pad, max: max + pad,
      ticks: {
        maxTicksLimit: 8, maxRotation: 0,
        callback: function (value, index, ticks) {
          var text = tick(value, span);
          // Ticks closer together than the format shows would repeat a label: show it once.
          if (index > 0 && tick(ticks[index - 1].value, span) === text) return "";
          return text;
        },
      },
    };
  }

  // Clicking a point opens its page (each point's `url`); the pointer says it can be clicked.
  function linkPoints(options) {
    options.onClick = function (event, elements, chart) {
      if (!elements.length) return;
      var hit = elements[0];
      var point = chart.data.datasets[hit.datasetIndex].data[hit.index];
      if (point && point.url) window.location.assign(point.url);
    };
    options.onHover = function (event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    };
    return options;
  }

  window.cairnTime = { zone: zone, format: format, tick: tick, axis: axis, linkPoints: linkPoints };
})();
