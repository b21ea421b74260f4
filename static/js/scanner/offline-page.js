// Keeps the page working without network: the service worker (static/js/scanner-sw.js, served
// at /checkin/sw.js) answers from its cache when the network does not. It keeps this page's
// modules when it is installed; on the first visit the page itself loaded before the worker, so
// once it is in control the page and the files it names are fetched once more through it.

export function keepPageOffline(root) {
  if (!("serviceWorker" in navigator) || !root.dataset.sw) return;
  const scope = root.dataset.sw.replace(/sw\.js$/, "");
  navigator.serviceWorker.register(root.dataset.sw, { scope: scope }).catch(() => {});
  const warm = () => fetchAgain(root);
  if (navigator.serviceWorker.controller) warm();
  else navigator.serviceWorker.addEventListener("controllerchange", warm, { once: true });
}

function fetchAgain(root) {
  const files = Array.from(document.querySelectorAll("script[src], link[rel=stylesheet][href]"))
    .map((el) => el.src || el.href);
  files.push(location.href, root.dataset.qrWorker);
  for (const url of files) {
    if (url) fetch(url, { credentials: "same-origin" }).catch(() => {});
  }
}

// The phone may no longer scan here (signed out, the link withdrawn): the pages kept for
// offline use go, and the worker with them. The server's Clear-Site-Data does the same where
// the browser knows that header; this is for the browsers that do not.
export function forgetPageOffline() {
  const kept = typeof caches === "undefined" ? Promise.resolve() : caches.keys().then((names) =>
    Promise.all(names.filter((name) => name.indexOf("workshops-scanner") === 0).map((name) => caches.delete(name))));
  const worker = !("serviceWorker" in navigator) ? Promise.resolve() : navigator.serviceWorker.getRegistrations()
    .then((registrations) => Promise.all(registrations.map((r) => r.unregister())));
  return Promise.all([kept, worker]).catch(() => {});
}
