// The controller's camera: frames of the back camera read for a QR code (lib/qr.js) every
// SCAN_INTERVAL_MS until one is found, or a photo of the code. Used for passengers' tickets
// and for the bus's sticker.
import { t } from '../lib/i18n.js';
import { h } from '../lib/ui.js';
import { decodeQr } from '../lib/qr.js';

/// Frames are read this often (a read takes a few ms with BarcodeDetector, tens with jsQR).
export const SCAN_INTERVAL_MS = 150;

/// The camera view with a photo button: `onText(text, decodedAt)` gets each code read (the
/// time, performance.now(), when it was read); return true from it to stop. `stop()` ends it.
export function camera({ label, onText }) {
  const status = h('p', { class: 'hint', 'aria-live': 'polite' }, t('ctl_scan_hint'));
  const video = h('video', { class: 'scan', playsinline: true, muted: true, 'aria-label': label });
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'ctl-photo', class: 'sr-only', tabindex: '-1' });
  let stream = null;
  let timer = null;
  let busy = false;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    stream?.getTracks().forEach((track) => track.stop());
  };
  const deliver = (text, at) => {
    if (stopped || !text) return;
    if (onText(text, at)) stop();
  };
  file.addEventListener('change', async () => {
    const picked = file.files?.[0];
    if (!picked) return;
    const bitmap = await createImageBitmap(picked);
    const text = await decodeQr(bitmap, bitmap.width, bitmap.height);
    if (text) deliver(text, performance.now());
    else status.textContent = t('ctl_scan_not_found');
  });
  const view = h('div', { class: 'camera' }, video, status,
    h('div', {}, file, h('label', { for: 'ctl-photo', class: 'button wide secondary', tabindex: '0',
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); file.click(); } } }, t('ctl_scan_photo'))));
  if (navigator.mediaDevices?.getUserMedia) {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then((s) => {
      if (stopped) { s.getTracks().forEach((track) => track.stop()); return; }
      stream = s;
      video.srcObject = s;
      video.play().catch(() => {});
      timer = setInterval(async () => {
        if (busy || video.readyState < 2) return;
        busy = true;
        try { deliver(await decodeQr(video, video.videoWidth, video.videoHeight), performance.now()); } finally { busy = false; }
      }, SCAN_INTERVAL_MS);
    }).catch(() => { video.hidden = true; status.textContent = t('ctl_scan_no_camera'); });
  } else {
    video.hidden = true;
    status.textContent = t('ctl_scan_no_camera');
  }
  return { view, stop };
}
