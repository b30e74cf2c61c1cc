// The app's own files, kept for when the phone has no connection: the page opens offline. The API is
// never cached here (its answers hold personal data and must be current).
const CACHE = "shouwang-shell-v7";
const SHELL = [
  "/",
  "/static/app.js",
  "/static/core.js",
  "/static/cadre.js",
  "/static/drafts.js",
  "/static/fieldwork.js",
  "/static/desk.js",
  "/static/dashboard.js",
  "/static/drift.js",
  "/static/records.js",
  "/static/app.css",
  "/static/cadre.css",
  "/static/desk.css",
  "/static/dashboard.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n)))),
  );
  self.clients.claim();
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  const key = url.pathname === "/" ? "/" : url.pathname;
  // network first (a new version arrives at once), the kept copy when there is no network
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && SHELL.includes(key)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key)),
  );
});
