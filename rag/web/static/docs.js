// Swagger UI (/docs) and ReDoc (/redoc), from files served by citebot itself (no CDN).
// /openapi.json needs the API key when the service has keys: the key the chat page keeps in this
// tab's session storage is used, or asked for once.
"use strict";

(function () {
  const KEY_NAME = "citebot.apiKey";

  function authHeaders() {
    const key = sessionStorage.getItem(KEY_NAME);
    return key ? { Authorization: "Bearer " + key } : {};
  }

  function showError(message) {
    const el = document.getElementById("docs-error");
    el.textContent = message;
    el.hidden = false;
  }

  async function loadSpec() {
    for (let attempt = 0; attempt < 3; attempt++) {
      const resp = await fetch("/openapi.json", { headers: authHeaders() });
      if (resp.ok) return resp.json();
      if (resp.status !== 401) throw new Error("GET /openapi.json: HTTP " + resp.status);
      const key = window.prompt("This service needs an API key to show its API docs:");
      if (!key) throw new Error("The API docs need an API key (CITEBOT_API_KEYS).");
      sessionStorage.setItem(KEY_NAME, key.trim());
    }
    throw new Error("The API key was refused.");
  }

  function render(spec) {
    const swagger = document.getElementById("swagger-ui");
    if (swagger) {
      const key = sessionStorage.getItem(KEY_NAME);
      const ui = window.SwaggerUIBundle({
        spec: spec,
        domNode: swagger,
        deepLinking: true,
        validatorUrl: null,
        requestInterceptor: function (request) {
          if (key && !request.headers.Authorization) request.headers.Authorization = "Bearer " + key;
          return request;
        },
      });
      if (key) ui.preauthorizeApiKey("bearerAuth", key);
      return;
    }
    const redoc = document.getElementById("redoc");
    window.Redoc.init(spec, { hideDownloadButton: false }, redoc);
  }

  loadSpec().then(render).catch(function (err) { showError(err.message); });
})();
