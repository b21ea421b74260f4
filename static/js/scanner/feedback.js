// Results vibrate and beep. Phones keep sound off until the page is first tapped: one audio
// context for the page, unlocked then.
let audio = null;

function unlockSound() {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume();
  } catch (e) {
    audio = null;
  }
}

export function unlockSoundOnFirstTap(doc) {
  doc.addEventListener("click", unlockSound, { once: true });
  doc.addEventListener("keydown", unlockSound, { once: true });
}

export function feedback(tone) {
  const green = tone === "green";
  if (navigator.vibrate) navigator.vibrate(green ? 80 : [200, 100, 200]);
  if (!audio) return;
  try {
    const osc = audio.createOscillator();
    osc.frequency.value = green ? 880 : 220;
    osc.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch (e) { /* no sound on this device */ }
}
