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
    // Ticks on whole seconds, minutes, hours or days (multiples from the epoch), at most ~8.
    var steps = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800];
    var step = steps.map(function (s) { return s * 1000; })
      .filter(function (s) { return span / s <= 8; })[0] || 2592000000;
    return {
      // No fixed min/max: the axis ends on the ticks around the data, so ticks stay aligned.
      type: "linear", suggestedMin: min, suggestedMax: max,
      ticks: {
        stepSize: step, maxTicksLimit: 10, maxRotation: 0,
        callback: function (value, index, ticks) {
          var text = tick(value, span);
          // Ticks closer together than the format shows would repeat a label: show it once.
          if (index > 0 && tick(ticks[index - 1].value, span) === text) return "";
          return text;
        },
      },
    };
  }

  // Clicking a point opens its page (`urls[i]` for the i-th point); the pointer says so.
  function linkPoints(options, urls) {
    options.onClick = function (event, elements) {
      if (!elements.length) return;
      var url = urls[elements[0].index];
      if (url) window.location.assign(url);
    };
    options.onHover = function (event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    };
    return options;
  }

  window.cairnTime = { zone: zone, format: format, tick: tick, axis: axis, linkPoints: linkPoints };
})();
