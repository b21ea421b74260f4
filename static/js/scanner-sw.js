// Keeps the scanner pages usable when the venue Wi-Fi drops: pages, scripts and styles are
// fetched from the network when possible (so a new release reaches phones the next time they
// are online) and from this cache otherwise. Only answers that worked are kept; caches of
// earlier versions of this worker are dropped.
var CACHE = "workshops-scanner-v3";  // v3: the page runs on ES modules
// The scanner page's modules (static/js/scanner/, beside this file's source), kept when the
// worker is installed: the first visit loads them before the worker is in control. (Kept
// later anyway as the page fetches them through the worker; a test holds this list to the folder.)
var MODULES = [
  "main.js", "answers.js", "camera.js", "decide.js", "door.js", "feedback.js", "network.js",
  "offline-page.js", "queue.js", "screen.js", "state.js", "store.js", "sync.js", "tickets.js"
];

self.addEventListener("install", function (event) {
  self.skipWaiting();
  var urls = MODULES.map(function (name) {
    return new URL("../static/js/scanner/" + name, self.location).href;
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(urls); }).catch(function () {}));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/checkin/") === 0) {
    var fresh = fetch(request).then(function (response) {
      if (response.status >= 500) {  // a server error mid-deploy: the kept copy is better
        return caches.match(request).then(function (hit) { return hit || response; });
      }
      if (!response.ok) return response;  // a sign-in redirect, a refused link: as the server says
      var copy = response.clone();  // only pages and files that worked are kept
      event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(request, copy); }));
      return response;
    });
    event.waitUntil(fresh.catch(function () {}));
    // Wi-Fi that is connected but leads nowhere: after 3 s the kept copy answers (the fetch goes
    // on and refreshes the cache if it ever succeeds).
    var kept = new Promise(function (resolve) { setTimeout(resolve, 3000); }).then(function () {
      return caches.match(request).then(function (hit) { return hit || fresh; });
    });
    event.respondWith(Promise.race([fresh, kept]).catch(function () {
      return caches.match(request).then(function (hit) { return hit || Response.error(); });
    }));
  }
});
