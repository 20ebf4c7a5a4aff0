// Starts Swagger UI on /api/docs with the site's own OpenAPI description. A file of its
// own because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    // No badge from the public validator service: the page needs no other host.
    validatorUrl: null
  });
})();
