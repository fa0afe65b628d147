// The live dashboard: one WebSocket to /ws/live/ (docs/websocket-api.md), rendered without reload.
// A figure the server sends as null was not measured and is shown so, never as 0.
(function () {
  "use strict";

  const script = document.currentScript;
  const tick = parseFloat(script.dataset.tickSeconds) || 1;
  const STALE_AFTER = Math.max(3 * tick, 3) * 1000; // no update for this long: stale
  const NO_RETRY = new Set([4001, 4003]); // not authenticated / may see nothing: retrying won't help
  const $ = (id) => document.getElementById(id);

  let socket = null;
  let lastUpdate = 0;
  let retries = 0;
  let charts = null;

  function setState(state, text) {
    const badge = $("live-status");
    badge.dataset.state = state;
    badge.textContent = text;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function notMeasured() {
    return el("span", "not measured", "missing");
  }

  function percent(rate) {
    return (rate * 100).toFixed(1) + " %";
  }

  function rateCell(item) {
    const td = el("td", null, "num");
    if (item.completion_rate_24h === null) {
      td.appendChild(notMeasured());
    } else {
      td.textContent = percent(item.completion_rate_24h);
      td.title = "95 % interval " + percent(item.completion_rate_24h_low) + " – " +
        percent(item.completion_rate_24h_high) + ", n = " + (item.completed_24h + item.failed_24h);
    }
    return td;
  }

  function durationCell(item) {
    const td = el("td", null, "num");
    if (item.avg_duration_s === null) td.appendChild(notMeasured());
    else {
      td.textContent = item.avg_duration_s.toFixed(2) + " s";
      td.title = "n = " + item.duration_n_24h;
    }
    return td;
  }

  function renderTopSkills(items) {
    const body = $("top-skills").tBodies[0];
    body.replaceChildren();
    if (!items.length) {
      const row = body.insertRow();
      const cell = el("td", "No invocations in the last 24 hours.", "empty");
      cell.colSpan = 5;
      row.appendChild(cell);
      return;
    }
    for (const item of items) {
      const row = body.insertRow();
      row.dataset.skill = item.skill;
      row.appendChild(el("td", item.skill, "mono"));
      row.appendChild(el("td", String(item.invocations_1h), "num"));
      row.appendChild(el("td", String(item.invocations_24h), "num"));
      row.appendChild(rateCell(item));
      row.appendChild(durationCell(item));
    }
  }

  function renderAnomalies(items) {
    const list = $("anomalies");
    list.replaceChildren();
    if (!items.length) {
      list.appendChild(el("li", "None open.", "empty"));
      return;
    }
    for (const a of items) {
      const what = a.metric.replaceAll("_", " ") + " " + a.anomaly_type;
      const value = a.metric === "completion_rate"
        ? percent(a.observed_value) + " vs " + percent(a.baseline_value)
        : a.metric === "duration"
          ? a.observed_value.toFixed(2) + " s vs " + a.baseline_value.toFixed(2) + " s"
          : a.observed_value + " invocations vs " + a.baseline_value.toFixed(1) + " usual";
      list.appendChild(el("li", a.skill + ": " + what + ", " + value + " (score " +
        a.deviation_score.toFixed(2) + ", q = " + a.q_value.toPrecision(2) + ", n = " +
        a.observed_n + " in the hour, " + a.baseline_n + " before; since " + a.opened_at + ")"));
    }
  }

  function sessionUrl(s) {
    return "/p/" + encodeURIComponent(s.project) + "/s/" + s.id + "/";
  }

  function renderSessions(active) {
    $("active-count").textContent = String(active.count);
    const body = $("active-sessions").tBodies[0];
    body.replaceChildren();
    for (const s of active.sessions) {
      const row = body.insertRow();
      // The session's id links to its page, shortened the one way (static/cairn_ids.js).
      const cell = el("td", null, "nowrap");
      const link = el("a");
      link.href = sessionUrl(s);
      link.appendChild(window.cairnIds.element(s.external_id));
      cell.appendChild(link);
      row.appendChild(cell);
      row.appendChild(el("td", s.project));
      row.appendChild(el("td", s.agent || "–"));
      row.appendChild(el("td", s.branch || "–"));
      row.appendChild(el("td", window.cairnTime.format(s.started_at), "nowrap"));
    }
  }

  function renderCharts(items) {
    if (typeof Chart === "undefined") return;
    const labels = items.map((i) => i.skill);
    // A skill without decided outcomes has no rate: a gap in the chart, not a zero bar.
    const rates = items.map((i) => (i.completion_rate_24h === null ? null : i.completion_rate_24h * 100));
    const counts = items.map((i) => i.invocations_24h);
    if (!charts) {
      const options = (title, max) => ({
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false }, title: { display: true, text: title } },
        scales: { y: { beginAtZero: true, max: max } },
      });
      charts = {
        rates: new Chart($("chart-rates"), { type: "bar", data: { labels: labels,
          datasets: [{ data: rates, backgroundColor: "#1a7f64" }] }, options: options("Completion rate (%)", 100) }),
        counts: new Chart($("chart-invocations"), { type: "bar", data: { labels: labels,
          datasets: [{ data: counts, backgroundColor: "#57606a" }] }, options: options("Invocations", undefined) }),
      };
      return;
    }
    charts.rates.data.labels = labels;
    charts.rates.data.datasets[0].data = rates;
    charts.counts.data.labels = labels;
    charts.counts.data.datasets[0].data = counts;
    charts.rates.update();
    charts.counts.update();
  }

  function addToFeed(text, href, title) {
    const feed = $("feed");
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const item = el("li");
    item.appendChild(el("time", window.cairnTime.format(new Date()), "muted"));
    item.appendChild(document.createTextNode(" "));
    const what = href ? Object.assign(el("a", text), { href: href }) : el("span", text);
    if (title) what.title = title;
    item.appendChild(what);
    feed.prepend(item);
    while (feed.children.length > 30) feed.lastChild.remove();
  }

  const handlers = {
    metrics_update(frame) {
      lastUpdate = Date.now();
      retries = 0;
      setState("live", "live");
      const stamp = $("last-update");
      stamp.textContent = window.cairnTime.format(frame.server_time);
      stamp.dateTime = frame.server_time;
      stamp.dataset.seq = String(frame.seq);
      renderTopSkills(frame.top_skills);
      renderAnomalies(frame.anomalies);
      renderSessions(frame.active_sessions);
      renderCharts(frame.top_skills);
    },
    checkpoint_created(frame) {
      const c = frame.checkpoint;
      const score = c.score_total === null ? "score not measured" : "score " + c.score_total.toFixed(1);
      addToFeed("Checkpoint #" + c.id + " (" + c.kind + ") in " + c.project + ", " + score,
        "/p/" + encodeURIComponent(c.project) + "/c/" + c.id + "/");
    },
    session_updated(frame) {
      const s = frame.session;
      addToFeed("Session " + window.cairnIds.text(s.external_id) + " in " + s.project + ": " +
        s.status, sessionUrl(s), s.external_id);
    },
    error(frame) {
      addToFeed("Server error: " + frame.code + " — " + frame.message);
    },
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/live/");
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      const handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onclose = (event) => {
      if (NO_RETRY.has(event.code)) {
        setState("refused", event.code === 4001 ? "not logged in" : "no project to show");
        return;
      }
      // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
      const delay = Math.min(30000, 1000 * 2 ** retries) * (0.5 + Math.random() / 2);
      retries += 1;
      setState("reconnecting", "reconnecting in " + Math.ceil(delay / 1000) + " s");
      setTimeout(connect, delay);
    };
  }

  setInterval(() => {
    const open = socket && socket.readyState === WebSocket.OPEN;
    if (open && lastUpdate && Date.now() - lastUpdate > STALE_AFTER) {
      setState("stale", "stale: no update for " + Math.round((Date.now() - lastUpdate) / 1000) + " s");
    }
  }, 1000);

  connect();
})();
