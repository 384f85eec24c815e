// Journeys: from my location, a typed address or stop, or a point tapped on the map, to the
// same kinds of places; now or at a chosen time. Itineraries with walks, rides, transfers and
// the fare; the chosen one drawn on the map.
import * as L from '/vendor/leaflet/dist/leaflet-src.esm.js';
import { t, count, money, time } from '../lib/i18n.js';
import { api, session } from '../lib/api.js';
import { h, problemView, field } from '../lib/ui.js';
import { state, go } from './app.js';
import { baseMap, lineOf } from './map.js';

function placePicker(id, label, map) {
  let chosen = null;
  const input = h('input', { type: 'search', autocomplete: 'off', placeholder: t('journey_place_hint') });
  const list = h('div', { class: 'choice', id: `${id}-list` });
  let timer = null;
  const pick = (value, text) => { chosen = value; input.value = text; list.replaceChildren(); };
  input.addEventListener('input', () => {
    chosen = null;
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { list.replaceChildren(); return; }
    timer = setTimeout(async () => {
      try {
        const { data } = await api(`/v1/cities/${encodeURIComponent(state.city)}/search?q=${encodeURIComponent(q)}`);
        list.replaceChildren(...data.results.slice(0, 5).map((r) => h('button', { type: 'button', class: 'secondary', onclick: () => pick(r.id, r.label) }, r.label)));
      } catch { list.replaceChildren(); }
    }, 250);
  });
  const here = h('button', { type: 'button', class: 'secondary', onclick: () => {
    navigator.geolocation?.getCurrentPosition((p) => pick(`${p.coords.latitude.toFixed(5)},${p.coords.longitude.toFixed(5)}`, t('journey_my_location')));
  } }, t('journey_my_location'));
  const box = h('div', {}, field(id, label, input), list, here);
  return { box, value: () => chosen, setPoint: (lat, lon) => pick(`${lat.toFixed(5)},${lon.toFixed(5)}`, `${lat.toFixed(4)}, ${lon.toFixed(4)}`) };
}

export function render(main) {
  const mapEl = h('div', { class: 'map small', id: 'journey-map', role: 'region', 'aria-label': t('map_title') });
  const results = h('div', { id: 'journeys', 'aria-live': 'polite' });
  let map = null;
  let drawn = null;
  const from = placePicker('from', t('journey_from'));
  const to = placePicker('to', t('journey_to'));
  const departure = h('input', { type: 'time' });
  const draw = (journey) => {
    if (!map) return;
    drawn?.remove();
    drawn = L.featureGroup();
    for (const leg of journey.legs) {
      if (leg.type === 'ride') L.polyline(lineOf(leg.geometry), { color: '#0b5cad', weight: 6 }).addTo(drawn);
      else L.polyline([[leg.from.lat, leg.from.lon], [leg.to.lat, leg.to.lon]], { color: '#374151', weight: 4, dashArray: '6 8' }).addTo(drawn);
    }
    const first = journey.legs[0];
    const last = journey.legs.at(-1);
    L.circleMarker([first.from.lat, first.from.lon], { radius: 8, color: '#fff', weight: 3, fillColor: '#166534', fillOpacity: 1 }).addTo(drawn);
    L.circleMarker([last.to.lat, last.to.lon], { radius: 8, color: '#fff', weight: 3, fillColor: '#991b1b', fillOpacity: 1 }).addTo(drawn);
    drawn.addTo(map);
    map.invalidateSize();
    map.fitBounds(drawn.getBounds(), { padding: [16, 16] });
    mapEl.dataset.drawn = String(journey.legs.length);
  };
  const card = (j, i) => h('section', { class: 'card', 'aria-label': `${time(j.departure)} – ${time(j.arrival)}` },
    h('h2', {}, `${time(j.departure)} – ${time(j.arrival)} · ${count('journey_minutes', j.duration_minutes)}`),
    h('p', { class: 'muted' }, j.transfers ? count('journey_transfers', j.transfers) : t('journey_direct'), j.fare ? ` · ${t('journey_fare', { amount: money(j.fare) })}` : ''),
    j.legs.map((leg) => leg.type === 'ride'
      ? h('div', { class: 'leg ride' }, t('journey_ride', { route: leg.route_number, from: leg.from.name, to: leg.to.name }), ' · ', count('journey_stops', leg.stops), ' · ', time(leg.departure),
        // On that bus: the payment screen finds it by location, this route's buses first.
        session() ? h('button', { type: 'button', class: 'secondary wide', dataset: { payRoute: leg.route_number }, onclick: () => {
          sessionStorage.setItem('smsbus.route', leg.route_number);
          go('#/pay');
        } }, t('journey_pay_ride')) : null)
      : h('div', { class: 'leg' }, t('journey_walk', { m: leg.distance_m }))),
    h('button', { type: 'button', class: 'secondary wide', dataset: { journey: i }, onclick: () => draw(j) }, t('journey_show')));
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    if (!from.value() || !to.value()) { results.replaceChildren(h('p', { class: 'problem', role: 'alert' }, t('journey_choose'))); return; }
    results.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    const q = new URLSearchParams({ from: from.value(), to: to.value() });
    if (departure.value) q.set('departure', departure.value);
    try {
      const { data } = await api(`/v1/cities/${encodeURIComponent(state.city)}/plan?${q}`);
      results.replaceChildren(...(data.journeys.length ? data.journeys.map(card) : [h('p', {}, t('journey_none'))]));
      if (data.journeys.length) draw(data.journeys[0]);
    } catch (error) { results.replaceChildren(problemView(error)); }
  } }, from.box, to.box, field('departure', `${t('journey_departure')} (${t('journey_now')})`, departure),
  h('button', { type: 'submit', class: 'wide big' }, t('journey_plan')));
  main.append(h('h1', {}, t('journey_title')), form, mapEl, results);
  baseMap(mapEl).then(({ map: m }) => {
    map = m;
    // A point tapped on the map: the origin first, then the destination.
    map.on('click', (e) => (from.value() ? to : from).setPoint(e.latlng.lat, e.latlng.lng));
  });
  return () => map?.remove();
}
