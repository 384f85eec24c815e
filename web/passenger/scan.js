// The in-app scanner of the bus's QR sticker: the camera (frames read by lib/qr.js:
// BarcodeDetector, else jsQR), or a photo of the QR. A sticker holds
// a link to this app for its bus (`/?bus=<transport code>`); it opens that bus's payment.
import { t } from '../lib/i18n.js';
import { h } from '../lib/ui.js';
import { go } from './app.js';
import { decodeQr } from '../lib/qr.js';

/// The transport code a scanned text names, or null when it is not one of our stickers.
export function busOf(text) {
  const plain = String(text).trim();
  if (/^\d{5}$/.test(plain)) return plain;
  try {
    const url = new URL(plain);
    const bus = url.searchParams.get('bus');
    return bus && /^[0-9A-Za-z ]{4,12}$/.test(bus) ? bus : null;
  } catch { return null; }
}

const decode = decodeQr;

export function openScanner(main) {
  const status = h('p', { 'aria-live': 'assertive' }, t('scan_hint'));
  const video = h('video', { class: 'scan', playsinline: true, muted: true, 'aria-label': t('scan_title') });
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'scan-photo', class: 'sr-only', tabindex: '-1' });
  let stream = null;
  let timer = null;
  const dialog = h('dialog', { class: 'card', 'aria-labelledby': 'scan-title', style: { width: 'min(94vw, 520px)', margin: 'auto' } },
    h('h2', { id: 'scan-title' }, t('scan_title')), video, status,
    // The photo picker as one of our buttons (the browser's own input has its own words).
    h('div', {}, file, h('label', { for: 'scan-photo', class: 'button wide', tabindex: '0',
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); file.click(); } } }, t('scan_photo'))),
    h('button', { class: 'wide secondary', type: 'button', onclick: () => close() }, t('scan_cancel')));
  const close = () => {
    clearInterval(timer);
    stream?.getTracks().forEach((track) => track.stop());
    dialog.close();
    dialog.remove();
  };
  const found = (text) => {
    const bus = busOf(text);
    if (!bus) { status.textContent = t('scan_not_ours'); return false; }
    close();
    go(`#/pay/${encodeURIComponent(bus)}`);
    return true;
  };
  file.addEventListener('change', async () => {
    const picked = file.files?.[0];
    if (!picked) return;
    const bitmap = await createImageBitmap(picked);
    const text = await decode(bitmap, bitmap.width, bitmap.height);
    if (text) found(text);
    else status.textContent = t('scan_not_found');
  });
  main.append(dialog);
  dialog.showModal();
  if (navigator.mediaDevices?.getUserMedia) {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then((s) => {
      stream = s;
      video.srcObject = s;
      video.play().catch(() => {});
      timer = setInterval(async () => {
        if (video.readyState < 2) return;
        const text = await decode(video, video.videoWidth, video.videoHeight);
        if (text) found(text);
      }, 400);
    }).catch(() => { video.hidden = true; status.textContent = t('scan_no_camera'); });
  } else {
    video.hidden = true;
    status.textContent = t('scan_no_camera');
  }
}
