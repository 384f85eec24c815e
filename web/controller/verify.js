// The controller's offline check of a ticket token, with exactly the rules of the server and
// `smsbus verify` (crates/domain/src/ticket): the token's strict form (SB3., SB2. or SB1., base64url
// without padding or stray bits, minimal varints, every field in its limits, nothing after
// the last), the key by its id, the Ed25519 signature (WebCrypto) over the version's signing
// context and the payload, the key's window (valid at issue, the ticket not outliving it);
// then, as `smsbus verify` orders them, the invalidation list (revoked, refunded, run ended),
// the time (from issue, allowing a clock 5 minutes behind, to not_after, both inclusive) and
// the vehicle. Pure apart from WebCrypto: the key list, the list and the time are passed in.

export const TOKEN_PREFIX = 'SB3.';
export const TOKEN_PREFIX_V2 = 'SB2.';
export const TOKEN_PREFIX_V1 = 'SB1.';
/// The token formats read, by prefix: format 3 names its holder's kind; 2 and 1 bind a phone.
const FORMATS = [[TOKEN_PREFIX, 3], [TOKEN_PREFIX_V2, 2], [TOKEN_PREFIX_V1, 1]];
/// The holder kinds of format 3 by their byte (`domain::ticket::HolderKind::byte`).
const HOLDER_KINDS = { 1: 'phone', 2: 'card' };
const HOLDER_KIND_BYTE = { phone: 1, card: 2 };
export const TOKEN_CHARS_MAX = 400;
export const TICKET_LIFETIME_S_MAX = 6 * 60 * 60;
export const CLOCK_SKEW_S_MAX = 5 * 60;
export const KEY_LIST_KEYS_MAX = 64;
const TICKET_NUMBER_MAX = 99999999999;
const AMOUNT_TIYN_MAX = 100000000n;
const SIGNATURE_BYTES = 64;
const KEY_ID_BYTES = 4;
const LIMITS = { issuer: 8, city: 16, vehicle: 16, route: 8, fare_product: 16, rider_category: 16 };
const CONTEXT = Object.fromEntries([1, 2, 3].map((v) => [v, new TextEncoder().encode(`SMSBUS e-ticket v${v}\0`)]));
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3], [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6], [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7], [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

class Malformed extends Error {}
const bad = () => { throw new Malformed(); };

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

/// base64url without padding, strictly: one string per byte string (no stray trailing bits).
export function base64urlDecode(text) {
  if (text.length % 4 === 1) bad();
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    const v = B64_VALUE.get(c);
    if (v === undefined) bad();
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
    value &= (1 << bits) - 1;
  }
  if (value !== 0) bad();
  return out;
}

export function base64urlEncode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let j = 0; j < chars; j++) out += B64[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// Rust's char::is_whitespace (Unicode White_Space) and char::is_control (Cc).
const WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const SPACES = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/gu;
/// Rust's str::trim (JavaScript's trim differs on U+0085 and U+FEFF).
const trim = (text) => text.replace(SPACES, '');

class Reader {
  constructor(bytes) { this.bytes = bytes; this.at = 0; }
  take(n) {
    if (this.at + n > this.bytes.length) bad();
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  byte() { return this.take(1)[0]; }
  text(max) {
    const length = this.byte();
    if (length > max) bad();
    let text;
    try { text = utf8.decode(this.take(length)); } catch { bad(); }
    return text;
  }
  /// A minimal LEB128 u64, as a BigInt.
  varint() {
    let value = 0n;
    for (let index = 0; index < 10; index++) {
      const byte = this.byte();
      const group = BigInt(byte & 0x7f);
      if (index === 9 && group > 1n) bad();
      value |= group << BigInt(7 * index);
      if ((byte & 0x80) === 0) {
        if (byte === 0 && index > 0) bad();
        return value;
      }
    }
    return bad();
  }
}

function shortCode(text, max) {
  // Bytes were checked by the reader; here: non-empty, no surrounding space, no control.
  if (!text.length || new TextEncoder().encode(text).length > max || WHITE_SPACE.test(text) || CONTROL.test(text)) bad();
  return text;
}

function vehicleCode(text) {
  // TransportCode::parse drops spaces and hyphens; the token must hold the code as parsed.
  if (!/^[0-9]{3,8}$/.test(text)) bad();
  return text;
}

/// A ticket number's check form, `DDDD-DDDD-DDDC` (Damm check digit).
export function checkForm(number) {
  const digits = String(number).padStart(11, '0');
  let interim = 0;
  for (const d of digits) interim = DAMM[interim][Number(d)];
  const all = `${digits}${interim}`;
  return `${all.slice(0, 4)}-${all.slice(4, 8)}-${all.slice(8)}`;
}

/// Reads a typed check number (spaces and hyphens anywhere); null when the check digit fails.
export function parseCheckForm(text) {
  const digits = String(text).replace(/[ -]/g, '');
  if (!/^[0-9]{12}$/.test(digits)) return null;
  let interim = 0;
  for (const d of digits) interim = DAMM[interim][Number(d)];
  return interim === 0 ? Number(digits.slice(0, 11)) : null;
}

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/// The token taken apart, not yet checked against any key; throws Malformed.
function decode(token) {
  // The limit counts UTF-8 bytes, as the server's `str::len` does.
  if (typeof token !== 'string' || token.length > TOKEN_CHARS_MAX || new TextEncoder().encode(token).length > TOKEN_CHARS_MAX) bad();
  const format = FORMATS.find(([prefix]) => token.startsWith(prefix)) ?? bad();
  const version = format[1];
  const body = token.slice(format[0].length);
  const bytes = base64urlDecode(body);
  if (bytes.length < SIGNATURE_BYTES) bad();
  const payload = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const r = new Reader(payload);
  const keyId = hex(r.take(KEY_ID_BYTES));
  const number = r.take(5).reduce((n, b) => n * 256 + b, 0);
  if (number > TICKET_NUMBER_MAX) bad();
  const issuer = shortCode(r.text(LIMITS.issuer), LIMITS.issuer);
  const city = shortCode(r.text(LIMITS.city), LIMITS.city);
  const vehicle = vehicleCode(r.text(LIMITS.vehicle));
  const route = shortCode(r.text(LIMITS.route), LIMITS.route);
  const fareProduct = shortCode(r.text(LIMITS.fare_product), LIMITS.fare_product);
  const riderCategory = shortCode(r.text(LIMITS.rider_category), LIMITS.rider_category);
  const amount = r.varint();
  if (amount > 0x7fffffffffffffffn) bad();
  const issuedAt = r.varint();
  if (r.byte() !== 1) bad();
  const lifetime = r.varint();
  const notAfter = issuedAt + lifetime;
  if (notAfter > 0xffffffffffffffffn) bad();
  const holder = version === 1 ? { kind: 'phone', salt: r.take(8), digest: r.take(8) }
    : version === 2 ? { kind: 'phone', tag: r.take(2), version }
      : { kind: HOLDER_KINDS[r.byte()] ?? bad(), tag: r.take(2), version };
  if (r.at !== payload.length) bad();
  if (amount > AMOUNT_TIYN_MAX || lifetime < 1n || lifetime > BigInt(TICKET_LIFETIME_S_MAX)) bad();
  const message = new Uint8Array(CONTEXT[version].length + payload.length);
  message.set(CONTEXT[version]);
  message.set(payload, CONTEXT[version].length);
  return {
    message, signature, version,
    claims: {
      keyId, number, checkNumber: checkForm(number), issuer, city, vehicle, route, fareProduct, riderCategory,
      amountTiyn: Number(amount), issuedAt: Number(issuedAt), notAfter: Number(notAfter), holder,
    },
    issuedAt, notAfter,
  };
}

/// Is Ed25519 in this browser's WebCrypto? (Chromium has it from version 137.)
export async function ed25519Available() {
  // The public key of RFC 8032's first test vector.
  const raw = Uint8Array.from([
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a]);
  try {
    const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    return key.type === 'public';
  } catch { return false; }
}

function unixSeconds(text) {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`not an RFC 3339 time: ${text}`);
  return Math.floor(ms / 1000);
}

/// Reads the published key list (`GET /v1/keys`) as `smsbus verify` does: every key Ed25519,
/// 32 bytes, its id derived from it (first 4 bytes of its SHA-256), a window that starts
/// before it ends, no id twice, at most 64 keys; any flaw refuses the whole list.
export async function importKeyList(json) {
  const keys = json?.keys;
  if (!Array.isArray(keys)) throw new Error('not a key list');
  if (keys.length > KEY_LIST_KEYS_MAX) throw new Error(`a key list holds at most ${KEY_LIST_KEYS_MAX} keys`);
  const out = new Map();
  for (const key of keys) {
    if (key.alg !== 'Ed25519') throw new Error(`key ${key.kid}: algorithm ${key.alg}`);
    const raw = base64urlDecode(String(key.public_key));
    if (raw.length !== 32) throw new Error(`key ${key.kid}: a public key is 32 bytes`);
    const notBefore = unixSeconds(key.not_before);
    const notAfter = unixSeconds(key.not_after);
    if (!(notBefore < notAfter)) throw new Error(`key ${key.kid}: the window is empty`);
    const id = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', raw)).subarray(0, KEY_ID_BYTES));
    if (!/^[0-9a-fA-F]{8}$/.test(String(key.kid)) || key.kid.toLowerCase() !== id) throw new Error(`key ${key.kid}: the id is not the key's (${id})`);
    if (out.has(id)) throw new Error(`key ${id} is listed twice`);
    const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    out.set(id, { id, cryptoKey, notBefore, notAfter });
  }
  return out;
}

const CODE_OF_WHY = { revoked: 'REVOKED', refunded: 'REFUNDED', run_ended: 'RUN_ENDED' };

/// The verdict on `token` shown in `vehicle` (a transport code, or null: not checked) at
/// `nowS` (unix seconds): `{verdict: 'VALID' | 'MALFORMED' | 'UNKNOWN_KEY' | 'FORGED' |
/// 'REVOKED' | 'REFUNDED' | 'RUN_ENDED' | 'EXPIRED' | 'WRONG_VEHICLE', claims}` (claims
/// whenever the signature held). `invalidated(number)` gives the list's `why` or undefined.
export async function verifyToken(token, { keys, invalidated = () => undefined, vehicle = null, nowS }) {
  let decoded;
  try { decoded = decode(trim(String(token))); } catch (error) {
    if (error instanceof Malformed) return { verdict: 'MALFORMED' };
    throw error;
  }
  const { claims } = decoded;
  const key = keys.get(claims.keyId);
  if (!key) return { verdict: 'UNKNOWN_KEY' };
  const holds = await crypto.subtle.verify({ name: 'Ed25519' }, key.cryptoKey, decoded.signature, decoded.message);
  if (!holds) return { verdict: 'FORGED' };
  // Exact (BigInt) comparisons: a forged time may be any u64.
  const { issuedAt, notAfter } = decoded;
  const inWindow = BigInt(key.notBefore) <= issuedAt && issuedAt <= BigInt(key.notAfter) && notAfter <= BigInt(key.notAfter);
  if (!inWindow) return { verdict: 'FORGED' };
  const why = invalidated(claims.number);
  if (why) return { verdict: CODE_OF_WHY[why] ?? 'REVOKED', claims };
  const now = BigInt(Math.floor(nowS));
  if (issuedAt > now + BigInt(CLOCK_SKEW_S_MAX) || now > notAfter) return { verdict: 'EXPIRED', claims };
  if (vehicle !== null && vehicle !== undefined && claims.vehicle !== String(vehicle)) return { verdict: 'WRONG_VEHICLE', claims };
  return { verdict: 'VALID', claims };
}

/// The holder keys a signed-in controller syncs (`GET /v1/controller/holder-keys`) as
/// WebCrypto HMAC keys by key id.
export async function importHolderKeys(json) {
  const out = new Map();
  for (const key of (json?.holder_keys ?? []).slice(0, KEY_LIST_KEYS_MAX)) {
    if (key.alg !== 'HMAC-SHA-256') continue;
    const raw = base64urlDecode(String(key.key));
    if (raw.length !== 32) continue;
    out.set(String(key.kid).toLowerCase(), await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
  }
  return out;
}

/// A Kazakh mobile number as people type it (`8 701 123 45 67`, `+7 (701) 123-45-67`) in
/// E.164, or null.
export function phoneE164(text) {
  const digits = String(text).replace(/[\s()-]/g, '');
  const national = /^\+7([67]\d{9})$/.exec(digits) ?? /^[78]([67]\d{9})$/.exec(digits);
  return national ? `+7${national[1]}` : null;
}

/// A transport card's number as people type it (spaces and dashes ignored): its 16 digits when
/// the Luhn check digit holds (`domain::card::CardNumber::parse`), or null.
export function cardDigits(text) {
  const digits = String(text).trim().replace(/[ -]/g, '');
  if (!/^[0-9]{16}$/.test(digits)) return null;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let v = Number(digits[14 - i]);
    if (i % 2 === 0) { v *= 2; if (v > 9) v -= 9; }
    sum += v;
  }
  return (10 - (sum % 10)) % 10 === Number(digits[15]) ? digits : null;
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/// Is the ticket of `claims` the holder's the passenger tells, `{kind: 'phone', value: e164}`
/// or `{kind: 'card', value: digits}`? As `TicketClaims::check_holder`: a holder of another
/// kind than the ticket's is `NOT_CHECKED` (ask for the ticket's kind); a keyed tag (SB3.,
/// SB2.) needs its signing key's holder key (`NOT_CHECKED` without it); an SB1. ticket's
/// salted digest is checked by anyone.
export async function checkHolder(claims, holder, holderKeys) {
  if (holder.kind !== claims.holder.kind) return 'NOT_CHECKED';
  const identity = new TextEncoder().encode(holder.value);
  if (claims.holder.tag) {
    const key = holderKeys.get(claims.keyId);
    if (!key) return 'NOT_CHECKED';
    const number = new Uint8Array(8);
    new DataView(number.buffer).setBigUint64(0, BigInt(claims.number));
    const v3 = claims.holder.version === 3;
    const context = new TextEncoder().encode(`SMSBUS holder v${v3 ? 3 : 2}\0`);
    const kind = v3 ? [HOLDER_KIND_BYTE[holder.kind]] : [];
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new Uint8Array([...context, ...kind, ...number, ...identity])));
    return equal([...mac.subarray(0, 2)], [...claims.holder.tag]) ? 'MATCHES' : 'DOES_NOT_MATCH';
  }
  const context = new TextEncoder().encode('SMSBUS holder v1\0');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array([...context, ...claims.holder.salt, ...identity])));
  return equal([...digest.subarray(0, 8)], [...claims.holder.digest]) ? 'MATCHES' : 'DOES_NOT_MATCH';
}
