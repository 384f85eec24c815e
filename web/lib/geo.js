// The web apps' one distance on the Earth: great-circle metres between two { lat, lon }
// points (haversine) on the same mean radius as the server's (`transit::geo::EARTH_RADIUS_M`),
// so "150 m from the bus" means the same here and there.

/// Mean Earth radius, metres: the server's.
export const EARTH_RADIUS_M = 6371000;

/// Great-circle distance between two { lat, lon } points in degrees, metres.
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}
