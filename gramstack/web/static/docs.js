// The API reference: Swagger UI (served from /docs/assets) over /openapi.json.
(function () {
  "use strict";

  // Swagger UI's stylesheet has a dark theme under html.dark-mode, which only
  // its standalone top bar (not used here) switches on: follow the system's
  // colour scheme instead, as the rest of the site does, live.
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  function followScheme() {
    document.documentElement.classList.toggle("dark-mode", dark.matches);
  }
  followScheme();
  dark.addEventListener("change", followScheme);

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
