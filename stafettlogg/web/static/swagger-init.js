// Swagger UI for the API documentation page (/schema/swagger): started from this
// file, not from an inline script, so that the page keeps the strict
// Content-Security-Policy. The OpenAPI document's address is in the container's
// data-openapi-url. No validator is called: nothing leaves the origin.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-ui");
  if (!container || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: container.getAttribute("data-openapi-url"),
    domNode: container,
    deepLinking: true,
    validatorUrl: null,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
});
