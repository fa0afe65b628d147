// The one way Cairn's scripts shorten an id, the same rule as the `short_id` template filter
// (tracking/templatetags/cairn.py): whole when at most 12 characters, else the first 8 and "…",
// with the whole id in the tooltip. Never cut at the end.
(function () {
  "use strict";
  var MAX = 12;
  var PREFIX = 8;

  function text(id) {
    id = String(id === null || id === undefined ? "" : id);
    return id.length <= MAX ? id : id.slice(0, PREFIX) + "…";
  }

  // A <code class="id"> element showing the shortened id, the whole id as its title.
  function element(id) {
    var node = document.createElement("code");
    node.className = "id";
    node.textContent = text(id);
    node.title = String(id);
    return node;
  }

  window.cairnIds = { text: text, element: element };
})();
