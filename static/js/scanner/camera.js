// The phone's camera, read by the vendored qr-scanner (a classic script before the modules:
// window.QrScanner). Without permission yet, or without a camera, the button tries again.
// `ui`: { video, startButton, error } elements of the page.

export function createCamera(ui, onCode) {
  let camera = null;

  function start() {
    if (!window.QrScanner || camera) return;
    camera = new window.QrScanner(ui.video, (result) => onCode(result.data || result),
      { returnDetailedScanResult: true, highlightScanRegion: false, maxScansPerSecond: 8 });
    camera.start().then(() => {
      ui.startButton.hidden = true;
      ui.error.hidden = true;
    }).catch(() => {
      ui.error.hidden = false;
      camera.destroy();
      camera = null;
    });
  }

  ui.startButton.addEventListener("click", start);
  return { start };
}
