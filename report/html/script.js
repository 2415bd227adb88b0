// Progressive enhancement only: without this script the table stays sorted
// by hallucination rate and every document is listed with its badge.
(function () {
  "use strict";
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });

  // Sorting: a click on a heading sorts by that column; a second click
  // reverses. Cells carry their sort key in data-v; empty keys sort last.
  var table = document.getElementById("leaderboard-table");
  if (table) {
    var heads = table.tHead.rows[0].cells;
    var body = table.tBodies[0];
    Array.prototype.forEach.call(heads, function (th, col) {
      if (col === 0) { return; }
      th.classList.add("sortable");
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      var sort = function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { if (h.classList.contains("sortable")) { h.setAttribute("aria-sort", "none"); } });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (r) { return r.cells[col].getAttribute("data-v") || ""; };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === "" || y === "") { return (x === "") - (y === ""); }
          var nx = Number(x), ny = Number(y), c;
          if (!isNaN(nx) && !isNaN(ny)) { c = nx - ny; } else { c = x.localeCompare(y); }
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }

  // Filters: one checkbox per status shows or hides its documents.
  var docs = document.querySelectorAll("details.doc[data-status]");
  var boxes = document.querySelectorAll(".filters input[data-status]");
  var shown = document.getElementById("shown-count");
  var apply = function () {
    var on = {};
    boxes.forEach(function (b) { on[b.getAttribute("data-status")] = b.checked; });
    var n = 0;
    docs.forEach(function (d) {
      var vis = on[d.getAttribute("data-status")] !== false;
      d.hidden = !vis;
      if (vis) { n++; }
    });
    if (shown) { shown.textContent = n + " of " + docs.length + " documents shown"; }
  };
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  var setOpen = function (open) {
    return function () { docs.forEach(function (d) { if (!d.hidden) { d.open = open; } }); };
  };
  var ex = document.getElementById("expand-all"), co = document.getElementById("collapse-all");
  if (ex) { ex.addEventListener("click", setOpen(true)); }
  if (co) { co.addEventListener("click", setOpen(false)); }
  apply();
})();
