// Local times for <time class="flasky-time" datetime="…Z" data-format="fromNow|date|datetime">.
// Uses the browser's Intl API; the server-rendered UTC text stays when JavaScript is off.
(function () {
  "use strict";
  var relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "long" });
  var dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var units = [
    ["year", 31536000], ["month", 2592000], ["week", 604800],
    ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]
  ];

  function fromNow(date) {
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (Math.abs(seconds) < 45) { return relative.format(0, "second") === "now" ? "a few seconds ago" : relative.format(0, "second"); }
    for (var i = 0; i < units.length; i++) {
      var size = units[i][1];
      if (Math.abs(seconds) >= size || units[i][0] === "second") {
        return relative.format(Math.round(seconds / size), units[i][0]);
      }
    }
    return "";
  }

  function render(element) {
    var date = new Date(element.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    var format = element.getAttribute("data-format") || "fromNow";
    element.title = dateTimeFormat.format(date);
    if (format === "date") {
      element.textContent = dateFormat.format(date);
    } else if (format === "datetime") {
      element.textContent = dateTimeFormat.format(date);
    } else {
      element.textContent = fromNow(date);
    }
  }

  function renderAll() {
    document.querySelectorAll("time.flasky-time").forEach(render);
  }

  document.addEventListener("DOMContentLoaded", renderAll);
  setInterval(renderAll, 60000);
})();
