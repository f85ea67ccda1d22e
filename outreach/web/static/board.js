// The canicule board refreshes itself: every few seconds it fetches the board's fragment,
// swaps it in, marks the figures that changed and says so in the polite live region.
// Without JavaScript the page keeps its "Mettre à jour" link.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var status = document.getElementById("board-status");
  if (!board || !status || !window.fetch) { return; }
  var url = board.getAttribute("data-refresh");
  var seconds = parseInt(board.getAttribute("data-seconds"), 10) || 0;
  if (!url || seconds <= 0) { return; }

  function figures(root) {
    var found = {};
    root.querySelectorAll("[data-fig]").forEach(function (el) {
      found[el.getAttribute("data-fig")] = { text: el.textContent.trim(), label: el.getAttribute("data-label") };
    });
    return found;
  }

  function stamp() {
    var el = board.querySelector("[data-updated]");
    return el ? el.getAttribute("data-updated") : "";
  }

  var busy = false;
  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // A redirect to the login page: the session has ended.
        if (!response.ok || response.url.indexOf("/login") !== -1) { throw new Error("stale"); }
        return response.text();
      })
      .then(function (html) {
        var before = figures(board);
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var after = figures(holder);
        var changes = [];
        Object.keys(after).forEach(function (key) {
          if (before[key] && before[key].text !== after[key].text) {
            if (after[key].label) { changes.push(after[key].label + " : " + before[key].text + " → " + after[key].text); }
          }
        });
        board.replaceChildren.apply(board, Array.prototype.slice.call(holder.childNodes));
        Object.keys(after).forEach(function (key) {
          if (before[key] && before[key].text !== after[key].text) {
            var el = board.querySelector('[data-fig="' + key + '"]');
            if (el) { (el.closest(".figure") || el).classList.add("changed"); }
          }
        });
        if (changes.length) {
          status.textContent = "Mis à jour à " + stamp() + " — " + changes.join(" ; ");
        }
      })
      .catch(function () {
        status.textContent = "Le tableau n'a pas pu être mis à jour : utilisez « Mettre à jour ».";
      })
      .then(function () { busy = false; });
  }
  window.setInterval(refresh, seconds * 1000);
})();
