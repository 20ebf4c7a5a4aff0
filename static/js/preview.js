// Live Markdown preview for textareas marked with data-preview-url / -kind / -target.
// The server renders the text with the same code that renders the saved post, so the
// preview is exactly the result. Requests are debounced and stale answers are dropped.
(function () {
  "use strict";
  var DELAY_MS = 300;

  function csrfToken(form) {
    var input = form && form.querySelector('input[name="csrf_token"]');
    return input ? input.value : null;
  }

  function setup(textarea) {
    var target = document.getElementById(textarea.getAttribute("data-preview-target"));
    if (!target) { return; }
    var box = document.getElementById(target.id + "-box") || target;
    var url = textarea.getAttribute("data-preview-url");
    var kind = textarea.getAttribute("data-preview-kind") || "post";
    var timer = null;
    var controller = null;
    var sent = 0;
    var lastText = null;

    function show(html) {
      // The HTML comes back sanitised by the server's allow-list.
      target.innerHTML = html;
      box.hidden = html === "";
    }

    function refresh() {
      var text = textarea.value;
      if (text === lastText) { return; }
      lastText = text;
      if (text.trim() === "") { show(""); return; }
      if (controller) { controller.abort(); }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var number = ++sent;
      var headers = { "Content-Type": "application/json", "Accept": "application/json" };
      var token = csrfToken(textarea.form);
      if (token) { headers["X-CSRFToken"] = token; }
      fetch(url, {
        method: "POST",
        headers: headers,
        credentials: "same-origin",
        body: JSON.stringify({ body: text, kind: kind }),
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) { throw new Error("preview failed: " + response.status); }
        return response.json();
      }).then(function (data) {
        if (number === sent && data && typeof data.html === "string") { show(data.html); }
      }).catch(function () {
        // A failed or aborted preview leaves the previous one; the form still submits.
      });
    }

    textarea.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(refresh, DELAY_MS);
    });
    if (textarea.value.trim() !== "") { refresh(); }
  }

  function setupAll() {
    document.querySelectorAll("textarea[data-preview-url], input[data-preview-url]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
