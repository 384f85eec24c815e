// What the controller's phone keeps so that it checks tickets without network: the published
// key list, the invalidation list (revoked, refunded, run ended; cursor-paged, each entry
// forgotten once its ticket has ended anyway), the holder keys, the vehicles of the
// controller's cities, the chosen vehicle, the shift's start and the queue of checks not yet
// synced (kept after syncing with the server's answer, for the shift summary). All in
// localStorage under `smsbus.ctl.*`; refreshed whenever the network is there.
import { staffApi, account } from '../lib/staff.js';
import { importKeyList, importHolderKeys, verifyToken, checkHolder, phoneE164, cardDigits, ed25519Available } from './verify.js';

const PREFIX = 'smsbus.ctl.';
/// The queue keeps at most this many checks (synced ones are dropped first).
export const QUEUE_MAX = 5000;
/// A sync sends at most this many checks at once (the server's limit).
export const SYNC_BATCH_MAX = 100;
/// Invalidation pages fetched in one refresh, at most.
const INVALIDATION_PAGES_MAX = 50;
const INVALIDATION_PAGE = 1000;

function read(name, fallback) {
  try { return JSON.parse(localStorage.getItem(PREFIX + name)) ?? fallback; } catch { return fallback; }
}
function write(name, value) {
  if (value === null || value === undefined) localStorage.removeItem(PREFIX + name);
  else localStorage.setItem(PREFIX + name, JSON.stringify(value));
}

let keyMap = null;
let keyMapOf = null;

/// The imported key list (WebCrypto keys), from what is kept.
async function keys() {
  const kept = read('keys', null);
  if (!kept) return new Map();
  if (keyMapOf !== kept.fetched_at) {
    keyMap = await importKeyList(kept.list);
    keyMapOf = kept.fetched_at;
  }
  return keyMap;
}

export const state = {
  vehicle: () => read('vehicle', null),
  setVehicle: (v) => write('vehicle', v),
  vehicles: () => read('vehicles', { list: [] }).list,
  keysFetchedAt: () => read('keys', null)?.fetched_at ?? null,
  keyCount: () => read('keys', null)?.list?.keys?.length ?? 0,
  invalidations: () => read('invalidations', { entries: {} }),
  queue: () => read('queue', []),
  shiftStart: () => read('shift', null) ?? startShift(),
  lastSync: () => read('last_sync', null),
};

export function startShift() {
  const now = Date.now();
  write('shift', now);
  return now;
}

/// Forgets everything of the signed-in controller on this phone (sign-out).
export function forget() {
  for (const name of ['keys', 'holder_keys', 'invalidations', 'vehicles', 'vehicle', 'queue', 'shift', 'last_sync']) write(name, null);
  keyMap = null;
  keyMapOf = null;
}

/// The vehicle a typed text names: a transport code or a plate (Cyrillic look-alikes folded
/// as the server folds them), among the controller's vehicles.
export function findVehicle(text) {
  const compact = String(text).replace(/[\s-]/g, '').toUpperCase();
  const fold = { А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X' };
  const plate = [...compact].map((c) => fold[c] ?? c).join('');
  return state.vehicles().find((v) => v.transport_code === compact || v.plate_folded === plate) ?? null;
}

/// Fetches what the phone keeps, each part on its own (one failing leaves the others fresh).
export async function refresh() {
  const results = await Promise.allSettled([refreshKeys(), refreshHolderKeys(), refreshInvalidations(), refreshVehicles()]);
  return results.every((r) => r.status === 'fulfilled');
}

async function refreshKeys() {
  const response = await fetch('/v1/keys', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`keys: HTTP ${response.status}`);
  const list = await response.json();
  await importKeyList(list);
  write('keys', { list, fetched_at: Date.now() });
}

async function refreshHolderKeys() {
  const { data } = await staffApi('/v1/controller/holder-keys');
  write('holder_keys', { list: data, fetched_at: Date.now() });
}

async function refreshVehicles() {
  const { data } = await staffApi('/v1/controller/vehicles');
  write('vehicles', { list: data.vehicles, fetched_at: Date.now() });
  const chosen = state.vehicle();
  if (chosen) {
    const fresh = data.vehicles.find((v) => v.transport_code === chosen.transport_code);
    if (fresh) state.setVehicle(fresh);
  }
}

async function refreshInvalidations() {
  const kept = state.invalidations();
  const entries = { ...kept.entries };
  let cursor = kept.next ?? null;
  for (let page = 0; page < INVALIDATION_PAGES_MAX; page++) {
    const query = new URLSearchParams({ limit: String(INVALIDATION_PAGE) });
    if (cursor) query.set('after', cursor);
    const { data } = await staffApi(`/v1/controller/invalidations?${query}`);
    for (const i of data.invalidations) entries[i.number] = { why: i.why, not_after_ms: Date.parse(i.not_after) };
    cursor = data.next;
    if (data.invalidations.length < INVALIDATION_PAGE) break;
  }
  const now = Date.now();
  for (const [number, entry] of Object.entries(entries)) if (entry.not_after_ms < now) delete entries[number];
  write('invalidations', { entries, next: cursor, fetched_at: now });
}

/// Checks a scanned token on the phone: the verdict and the ticket's claims.
export async function check(token, vehicle, nowMs = Date.now()) {
  const entries = state.invalidations().entries;
  return verifyToken(token, {
    keys: await keys(),
    invalidated: (number) => entries[number]?.why,
    vehicle,
    nowS: Math.floor(nowMs / 1000),
  });
}

export { ed25519Available, phoneE164, cardDigits };

/// Whether the ticket of `claims` is the holder's the passenger tells (`{kind, value}`, see
/// verify.js's `checkHolder`), by the holder keys kept on the phone.
export async function holderOf(claims, holder) {
  return checkHolder(claims, holder, await importHolderKeys(read('holder_keys', null)?.list));
}

const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

/// Puts a check in the queue; `server` is set when the server made the check itself.
export function enqueue({ token, vehicle, result, scannedAtMs, offline, claims, server = null }) {
  const queue = state.queue();
  queue.push({
    // Whose check it is: a phone handed to another controller syncs only that one's own.
    login: account()?.login ?? null,
    id: newId(), token, transport_code: vehicle, scanned_at_ms: scannedAtMs, result, offline,
    check_number: claims?.checkNumber ?? null, synced: Boolean(server), server,
  });
  while (queue.length > QUEUE_MAX) {
    const synced = queue.findIndex((q) => q.synced);
    queue.splice(synced >= 0 ? synced : 0, 1);
  }
  write('queue', queue);
  return queue.at(-1).id;
}

/// Sends the checks not yet synced, in batches; each answer is kept with its check. Returns
/// the answers of this sync (their flags are what the screen tells).
export async function sync() {
  const answers = [];
  for (;;) {
    const me = account()?.login;
    const pending = state.queue().filter((q) => !q.synced && !q.refused && q.login === me).slice(0, SYNC_BATCH_MAX);
    if (!pending.length) break;
    const body = {
      inspections: pending.map((q) => ({
        id: q.id, token: q.token, transport_code: q.transport_code, scanned_at_ms: q.scanned_at_ms, result: q.result, offline: q.offline,
      })),
    };
    const { data } = await staffApi('/v1/controller/inspections/sync', { method: 'POST', body });
    const byId = new Map(data.results.map((r) => [r.id, r]));
    const queue = state.queue();
    for (const q of queue) {
      const answer = byId.get(q.id);
      if (!answer) continue;
      if (answer.status === 'refused') q.refused = answer.refused;
      else {
        q.synced = true;
        q.server = { result: answer.result, agrees: answer.agrees, flag_reason: answer.flag_reason,
          flagged_because_of: answer.inspection?.flagged_because_of ?? null };
      }
      answers.push({ ...answer, check_number: q.check_number, transport_code: q.transport_code });
    }
    write('queue', queue);
  }
  write('last_sync', Date.now());
  return answers;
}

/// The shift as the phone knows it: checks since the shift began, those not valid by reason,
/// those flagged by reason (once synced), and those waiting to sync.
export function shiftSummary() {
  const since = state.shiftStart();
  const me = account()?.login;
  const checks = state.queue().filter((q) => q.scanned_at_ms >= since && q.login === me);
  const invalid = {};
  const flags = {};
  for (const q of checks) {
    if (q.result !== 'VALID') invalid[q.result] = (invalid[q.result] ?? 0) + 1;
    const flag = q.server?.flag_reason;
    if (flag) flags[flag] = (flags[flag] ?? 0) + 1;
  }
  return { since, checked: checks.length, invalid, flags, pending: checks.filter((q) => !q.synced && !q.refused).length };
}
