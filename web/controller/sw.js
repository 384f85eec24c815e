// The controller app's service worker (scope /controller/): the app shell — its own files, the
// shared library and the QR decoder — is cached and answered from the cache when there is no
// network, so the app opens on a bus without signal. The API is never cached here: the app
// keeps the key list, the invalidation list, its vehicles and its queue of checks itself.
const SHELL = 'smsbus-controller-v2';
const FILES = [
  '/controller/', '/controller/index.html', '/controller/manifest.webmanifest', '/controller/controller.css',
  '/controller/app.js', '/controller/verify.js', '/controller/device.js', '/controller/scan.js', '/controller/screens.js',
  '/lib/base.css', '/lib/i18n.js', '/lib/messages.js', '/lib/api.js', '/lib/ui.js', '/lib/staff.js', '/lib/qr.js', '/lib/geo.js',
  '/vendor/jsqr/dist/jsQR.js', '/icon.svg', '/icon-192.png', '/icon-512.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('smsbus-controller-') && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/t/')) return;
  const page = url.pathname === '/controller/' || url.pathname === '/controller/index.html';
  const key = page ? '/controller/' : url.pathname;
  // Network first (a new version shows at once), the cache when offline.
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok && FILES.includes(key)) {
        const copy = response.clone();
        caches.open(SHELL).then((cache) => cache.put(key, copy));
      }
      return response;
    })
    .catch(() => caches.open(SHELL).then((cache) => cache.match(key)).then((hit) => hit ?? Response.error())));
});
