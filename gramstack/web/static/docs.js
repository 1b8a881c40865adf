// The API reference: Swagger UI (served from /docs/assets) over /openapi.json.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    window.SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  });
})();
