// The skills table: sort by a column (a click on its header; again for the other order) and
// search by name. Rows carry their figures in data-sort attributes, so what is sorted is the
// number measured, not the text shown; a figure not measured (empty) sorts last either way.
(function () {
  "use strict";
  var table = document.getElementById("skills-table");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var search = document.getElementById("skill-search");
  var shown = document.getElementById("skill-count");
  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-sort]"));

  function value(row, column, kind) {
    var text = row.cells[column].getAttribute("data-sort");
    if (text === null || text === "") return null;
    return kind === "number" ? parseFloat(text) : text.toLowerCase();
  }

  function sortBy(th, descending) {
    var column = parseInt(th.getAttribute("data-col"), 10);
    var kind = th.getAttribute("data-sort");
    var sign = descending ? -1 : 1;
    rows.sort(function (a, b) {
      var x = value(a, column, kind), y = value(b, column, kind);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      if (x < y) return -sign;
      if (x > y) return sign;
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  headers.forEach(function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    while (th.firstChild) button.appendChild(th.firstChild);
    th.appendChild(button);
    button.addEventListener("click", function () {
      // Numbers first from the largest, names from A; a second click turns the order round.
      var current = th.getAttribute("aria-sort");
      var descending = current ? current === "ascending" : th.getAttribute("data-sort") === "number";
      sortBy(th, descending);
    });
  });

  function filter() {
    var query = search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var match = row.getAttribute("data-skill").toLowerCase().indexOf(query) !== -1;
      row.hidden = !match;
      if (match) count += 1;
    });
    shown.textContent = count + " of " + rows.length + " skill" + (rows.length === 1 ? "" : "s") + " shown";
  }

  if (search) {
    search.addEventListener("input", filter);
    filter();
  }
})();
