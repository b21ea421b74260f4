// Keeps the scanner pages usable when the venue Wi-Fi drops: pages, scripts and styles are
// fetched from the network when possible (so a new release reaches phones the next time they
// are online) and from this cache otherwise. Only answers that worked are kept; caches of
// earlier versions of this worker are dropped.
// Names are never kept here: only the scanner's own pages (which name nobody: the roster comes
// from the API, which this worker leaves alone) and static files. The scan log, a volunteer's
// link, anything else, and any answer marked no-store go to the network only, so a phone
// signed out (or whose link was withdrawn) holds no page with a participant's name.
var CACHE = "workshops-scanner-v4";  // v4: the scan log and other pages with names are not kept
// The pages kept for offline use: /checkin/, /checkin/<workshop>, /checkin/<workshop>/sessions/<session>.
var KEPT_PAGE = /^\/checkin\/(\d+(\/sessions\/\d+)?)?$/;
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
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 || KEPT_PAGE.test(url.pathname)) {
    var fresh = fetch(request).then(function (response) {
      if (response.status >= 500) {  // a server error mid-deploy: the kept copy is better
        return caches.match(request).then(function (hit) { return hit || response; });
      }
      if (!response.ok) return response;  // a sign-in redirect, a refused link: as the server says
      if (/no-store/.test(response.headers.get("Cache-Control") || "")) return response;
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
