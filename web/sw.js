// The passenger app's service worker: the app shell (our files and the vendor files it
// loads) is kept in a cache and answered from it when there is no network; everything
// else is fetched, and the API is never cached here (the app keeps the valid tickets in
// localStorage itself, so they show with no network).
const SHELL = 'smsbus-shell-v4';
const FILES = [
  '/', '/index.html', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png', '/lib/base.css', '/lib/i18n.js', '/lib/messages.js',
  '/lib/api.js', '/lib/ui.js', '/lib/qr.js', '/lib/geo.js', '/passenger/app.js', '/passenger/tickets.js', '/passenger/pay.js',
  '/passenger/signin.js', '/passenger/trips.js', '/passenger/map.js', '/passenger/journey.js', '/passenger/more.js',
  '/passenger/scan.js', '/passenger/cards.js', '/passenger/topup.js', '/vendor/qrcode-generator/dist/qrcode.mjs', '/vendor/leaflet/dist/leaflet.css',
  '/vendor/leaflet/dist/leaflet-src.esm.js', '/vendor/jsqr/dist/jsQR.js', '/app-config.json',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    // Only the passenger app's own old caches: the controller app (/controller/sw.js) keeps its own.
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('smsbus-shell-') && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/t/')) return;
  // Network first (a new version shows at once), the cache when offline.
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(SHELL).then((cache) => cache.put(url.pathname === '/' ? '/' : event.request, copy));
      }
      return response;
    })
    .catch(() => caches.match(url.pathname === '/' ? '/' : event.request, { ignoreSearch: url.pathname === '/' })
      .then((hit) => hit ?? caches.match('/'))));
});
