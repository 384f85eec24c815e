// The map: stops, route lines and the live buses moving (the live stream, server-sent
// events), the passenger's position. Tap a bus: its route, next stop and "pay for this bus"
// (checked against the passenger's distance); tap a stop: its routes and next arrivals (the
// timetable's, and live where a bus is on its way). The tile layer is the
// configured URL; with none, the overlay alone is drawn on a plain background.
import * as L from '/vendor/leaflet/dist/leaflet-src.esm.js';
import { t, count, money, time } from '../lib/i18n.js';
import { api, session } from '../lib/api.js';
import { h, problemView } from '../lib/ui.js';
import { distanceM } from '../lib/geo.js';
import { state, go } from './app.js';

let config = null;
async function appConfig() {
  config ??= fetch('/app-config.json').then((r) => r.json()).catch(() => ({ tile_url: null, tile_attribution: '' }));
  return config;
}

/// A Leaflet map in `el` with the tile layer if one is configured.
export async function baseMap(el) {
  const map = L.map(el, { zoomControl: true, attributionControl: true, preferCanvas: false, fadeAnimation: false }).setView([51.128, 71.43], 12);
  const { tile_url: url, tile_attribution: attribution } = await appConfig();
  if (url) L.tileLayer(url, { attribution, maxZoom: 19 }).addTo(map);
  map.attributionControl.setPrefix('');
  return { map, tiled: Boolean(url) };
}

export function lineOf(geometry) {
  return (geometry?.coordinates ?? []).map(([lon, lat]) => [lat, lon]);
}

/// The stop's next arrivals from the server: the timetable's, and a live bus's expected time
/// ("in 3 min", marked live) where one is on its way.
async function arrivals(city, stopId, slot) {
  try {
    const { data } = await api(`/v1/cities/${encodeURIComponent(city)}/stops/${encodeURIComponent(stopId)}/arrivals`);
    if (!data.arrivals.length) { slot.replaceChildren(h('p', {}, t('map_no_arrivals'))); return; }
    slot.replaceChildren(h('p', {}, h('strong', {}, t('map_arrivals'))), h('ul', { class: 'list', tabindex: '0', 'aria-label': t('map_arrivals') }, data.arrivals.slice(0, 6).map((a) => {
      const at = a.expected_at ?? a.scheduled_at;
      const minutes = Math.max(0, Math.round((Date.parse(at) - Date.now()) / 60000));
      return h('li', { class: a.live ? 'live' : null, dataset: { route: a.route_number } },
        h('strong', {}, a.route_number), a.headsign ? ` → ${a.headsign}` : '', ' · ', time(at),
        a.live ? h('span', { class: 'small' }, ' · ', t('map_live_in', { minutes: count('n_minutes', minutes) }), a.plate ? ` · ${a.plate}` : '') : null);
    })));
  } catch (error) {
    slot.replaceChildren(problemView(error));
  }
}

export function render(main) {
  const el = h('div', { class: 'map', id: 'map', role: 'region', 'aria-label': t('map_title') });
  const status = h('p', { class: 'muted', 'aria-live': 'polite', id: 'map-status' });
  const note = h('p', { class: 'hint' });
  main.append(h('h1', {}, t('map_title')), status, el, note);
  const buses = new Map();
  const routes = new Map();
  let me = null;
  let source = null;
  let watch = null;
  let closed = false;
  const city = state.city;
  const busIcon = (v) => L.divIcon({ className: '', html: `<span style="display:inline-flex;align-items:center;justify-content:center;min-width:28px;height:28px;padding:0 4px;border-radius:14px;background:#b91c1c;color:#fff;font-size:13px;font-weight:800;border:2px solid #fff;box-shadow:0 1px 3px #0008">${v.route_number ?? '?'}</span>`, iconSize: [28, 28], iconAnchor: [14, 14] });
  const busPopup = (v) => {
    const route = routes.get(v.route_id);
    const pay = h('button', { type: 'button', class: 'wide', onclick: () => {
      if (me && distanceM(me, v) > 150) { pay.replaceWith(h('p', {}, t('map_far', { m: Math.round(distanceM(me, v)) }))); return; }
      go(`#/pay/${encodeURIComponent(v.transport_code)}`);
    } }, t('map_pay_bus'));
    return h('div', {}, h('strong', {}, t('map_route', { number: v.route_number ?? '?' }), ' · ', v.plate ?? ''),
      route ? h('p', {}, route.name) : null,
      v.next_stop_name ? h('p', {}, '→ ', v.next_stop_name) : null,
      route?.fare ? h('p', {}, money(route.fare)) : null,
      session() && v.transport_code ? pay : null);
  };
  const place = (v) => {
    if (closed) return;
    let marker = buses.get(v.id);
    if (!marker) {
      // A feed's bus may come without a plate (or a route): say what is known, never "null".
      const name = [v.route_number, v.plate].filter(Boolean).join(' · ');
      marker = L.marker([v.lat, v.lon], { icon: busIcon(v), keyboard: true, title: name, alt: name }).addTo(map);
      marker.getElement()?.setAttribute('data-bus', v.transport_code ?? v.id);
      marker.bindPopup(() => busPopup(marker.vehicle));
      buses.set(v.id, marker);
    } else {
      marker.setLatLng([v.lat, v.lon]);
    }
    marker.vehicle = v;
    marker.getElement()?.setAttribute('data-lat', String(v.lat));
    status.textContent = count('map_buses', buses.size);
  };
  let map;
  baseMap(el).then(async ({ map: m, tiled }) => {
    map = m;
    if (!tiled) note.textContent = t('map_plain');
    try {
      const { data } = await api(`/v1/cities/${encodeURIComponent(city)}/routes`);
      const stopRoutes = new Map();
      const bounds = [];
      for (const r of data.routes) routes.set(r.id, r);
      const details = await Promise.all(data.routes.map((r) => api(`/v1/cities/${encodeURIComponent(city)}/routes/${encodeURIComponent(r.id)}`).then((x) => x.data).catch(() => null)));
      for (const d of details.filter(Boolean)) {
        const colour = `#${routes.get(d.id)?.color ?? '1F6FB2'}`;
        for (const v of d.variants ?? []) {
          const line = lineOf(v.shape);
          if (line.length) { L.polyline(line, { color: colour, weight: 4, opacity: 0.7 }).addTo(map); bounds.push(...line); }
          for (const s of v.stops ?? []) {
            const list = stopRoutes.get(s.id) ?? { stop: s, routes: new Set() };
            list.routes.add(d.number);
            stopRoutes.set(s.id, list);
          }
        }
      }
      for (const { stop, routes: numbers } of stopRoutes.values()) {
        const marker = L.circleMarker([stop.lat, stop.lon], { radius: 6, color: '#111827', weight: 2, fillColor: '#fff', fillOpacity: 1, className: 'stop' });
        const content = () => {
          const next = h('div', { class: 'arrivals', 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('loading')));
          const body = h('div', { dataset: { stop: stop.id } }, h('strong', {}, stop.name),
            h('p', {}, t('map_routes', { routes: [...numbers].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).join(', ') })),
            next);
          // Once filled, the popup is given the element itself, so it lays out and pans anew
          // (a content function would be called again and start over).
          arrivals(city, stop.id, next).then(() => { if (marker.isPopupOpen()) marker.getPopup()?.setContent(body); });
          return body;
        };
        // As wide as the map allows: a phone's map is narrow.
        marker.bindPopup(content, { maxWidth: Math.max(200, el.clientWidth - 60), autoPanPadding: [10, 10] }).addTo(map);
        marker.on('popupclose', () => marker.getPopup()?.setContent(content));
        marker.getElement()?.setAttribute('data-stop', stop.id);
      }
      if (bounds.length) map.fitBounds(bounds, { padding: [10, 10] });
      const { data: live } = await api(`/v1/live/${encodeURIComponent(city)}/vehicles?bbox=-180,-85,180,85`);
      for (const v of live.vehicles) place(v);
    } catch (error) {
      status.replaceChildren(problemView(error));
    }
    if (closed) return;
    source = new EventSource(`/v1/live/${encodeURIComponent(city)}/stream`);
    source.addEventListener('position', (e) => place(JSON.parse(e.data)));
    source.addEventListener('removed', (e) => {
      const gone = JSON.parse(e.data);
      const marker = buses.get(gone.id);
      if (marker) { marker.remove(); buses.delete(gone.id); }
    });
    if (navigator.geolocation) {
      let dot = null;
      watch = navigator.geolocation.watchPosition((p) => {
        me = { lat: p.coords.latitude, lon: p.coords.longitude };
        if (closed) return;
        dot ??= L.circleMarker([me.lat, me.lon], { radius: 8, color: '#fff', weight: 3, fillColor: '#2563eb', fillOpacity: 1 }).addTo(map);
        dot.setLatLng([me.lat, me.lon]);
      }, () => {}, { enableHighAccuracy: true });
    }
  });
  return () => {
    closed = true;
    source?.close();
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    map?.remove();
  };
}
