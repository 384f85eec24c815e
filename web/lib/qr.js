// Reading a QR code from the camera or a photo: BarcodeDetector where the browser has it,
// else jsQR (npm, served under /vendor/) on the pixels. Shared by the passenger's sticker
// scanner and the controller's ticket scanner.
let jsQRLoaded = null;
function jsQR() {
  // jsQR ships as a UMD script: loaded once, it defines window.jsQR.
  jsQRLoaded ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/jsqr/dist/jsQR.js';
    s.onload = () => resolve(window.jsQR);
    s.onerror = reject;
    document.head.append(s);
  });
  return jsQRLoaded;
}

let canvas = null;

/// The text of the QR code in `source` (a video, an image bitmap) of the given size, or null.
export async function decodeQr(source, width, height) {
  if ('BarcodeDetector' in window) {
    try {
      const found = await new window.BarcodeDetector({ formats: ['qr_code'] }).detect(source);
      if (found.length) return found[0].rawValue;
    } catch { /* fall through to jsQR */ }
  }
  canvas ??= document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  const pixels = ctx.getImageData(0, 0, width, height);
  const read = (await jsQR())(pixels.data, width, height);
  return read?.data ?? null;
}
