/* RevivaTech service worker (rendered by revivatech/pwa.py). */
const CONFIG = {{ config_json|safe }};
const SHELL_CACHE = `shell-${CONFIG.version}`;
const STATIC_CACHE = "static-v1"; // hashed URLs never change content: kept across versions
const PAGES_CACHE = "tracking-pages-v1";
const PASS_THROUGH = ["/admin/", "/api/", "/ws/", "/webhooks/", "/account/login/", "/account/logout/"];
const TRACKING_PAGE = /^\/track\/[^/]+\/$/;
const TRACKING_PHOTO = /^\/track\/[^/]+\/photos\/\d+\/\d+\.(avif|webp)$/;

self.addEventListener("install", (event) => {
  // API requests never reach this worker (static routing, Chromium 123+): a beacon sent while a
  // page unloads was otherwise dropped when it was routed through the worker's fetch handler.
  if (event.addRoutes) {
    const route = { condition: { urlPattern: new URLPattern({ pathname: "/api/*" }) }, source: "network" };
    event.waitUntil(event.addRoutes(route).catch(() => {}));
  }
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(CONFIG.shell)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Pages and photos of a signed-in session come with "Cache-Control: no-store": never kept.
const keepable = (response) => response.ok && !/no-store/i.test(response.headers.get("Cache-Control") || "");

async function networkFirst(request, cacheName, { markSaved = false } = {}) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (keepable(response) && markSaved) {
      // Remember when this copy was saved, so an offline visit can say how old it is.
      const headers = new Headers(response.headers);
      headers.set("X-Saved-At", new Date().toISOString());
      cache.put(request, new Response(await response.clone().blob(), { status: response.status, headers }));
    } else if (keepable(response)) {
      cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached && markSaved) return markedSavedCopy(cached);
    if (cached) return cached;
    throw error;
  }
}

// A tracking page served from the cache carries data-saved-at on its #ticket element.
async function markedSavedCopy(cached) {
  const savedAt = cached.headers.get("X-Saved-At") || "";
  const html = (await cached.text()).replace('id="ticket"', `id="ticket" data-saved-at="${savedAt.replace(/[^0-9TZ:.-]/g, "")}"`);
  return new Response(html, { status: cached.status, headers: cached.headers });
}

async function cacheFirst(request, cacheName) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (keepable(response)) (await caches.open(cacheName)).put(request, response.clone());
  return response;
}

async function offlinePage() {
  return (await caches.match(CONFIG.offline)) || new Response("You are offline.", { status: 503 });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Not answered (so the browser sends it itself, untouched): other methods (the tracker's beacons
  // and POSTs), other origins, and the pass-through paths.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (PASS_THROUGH.some((prefix) => url.pathname.startsWith(prefix))) return;

  if (request.mode === "navigate") {
    if (TRACKING_PAGE.test(url.pathname)) {
      // The last known status of a repair stays readable offline.
      event.respondWith(networkFirst(request, PAGES_CACHE, { markSaved: true }).catch(offlinePage));
    } else {
      event.respondWith(fetch(request).catch(offlinePage));
    }
    return;
  }
  if (url.pathname.startsWith(CONFIG.staticPrefix)) {
    event.respondWith(CONFIG.staticNetworkFirst ? networkFirst(request, STATIC_CACHE) : cacheFirst(request, STATIC_CACHE));
    return;
  }
  if (TRACKING_PHOTO.test(url.pathname)) {
    event.respondWith(cacheFirst(request, PAGES_CACHE));
  }
});
