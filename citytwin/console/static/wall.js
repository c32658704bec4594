// The camera wall: each tile plays one camera from the hub over WHEP.
//
// Liveness is judged by decoded frames (inbound-rtp framesDecoded), never by the video's
// currentTime, which keeps advancing after a stream died. A tile whose frames stop for
// STALL_MS shows "no signal"; it then opens a new WHEP session — at once when the hub
// says the camera is up again, else with doubling waits — so it recovers without a
// reload. The viewer token comes from the console and is renewed before it expires.
"use strict";

const config = JSON.parse(document.getElementById("wall-config").textContent);
const labels = config.labels;
const STALL_MS = 3000;
const CHECK_MS = 1000;
const HEALTH_MS = 2000;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 16000;
let token = config.token;
let expired = false;

function showError(message) {
  document.getElementById("wall-error").textContent = message;
}

function gathered(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
}

class Tile {
  constructor(element) {
    this.element = element;
    this.camera = element.dataset.camera;
    this.video = element.querySelector("video");
    this.overlay = element.querySelector(".overlay");
    this.badge = element.querySelector(".badge");
    this.pc = null;
    this.session = null;
    this.connects = 0;
    this.framesDecoded = 0;
    this.lastProgress = 0;
    this.lastAttempt = 0;
    this.retryMs = RETRY_FIRST_MS;
    this.busy = false;
    this.health = element.dataset.health;
    element.addEventListener("click", () => element.classList.toggle("big"));
  }

  setSignal(live) {
    this.element.classList.toggle("nosignal", !live);
    this.overlay.textContent = this.connects === 0 && !live ? labels.connecting : labels.no_signal;
  }

  setHealth(health) {
    this.health = health;
    this.element.dataset.health = health;
    this.badge.className = "badge " + health;
    this.badge.textContent = labels["stream_" + health] || labels.stream_unknown;
  }

  async connect() {
    if (this.busy || expired) return;
    this.busy = true;
    this.lastAttempt = Date.now();
    try {
      await this.stop();
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.pc = pc;
      this.element.pc = pc;  // for tests and debugging: getStats() of this tile
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.ontrack = (event) => { this.video.srcObject = new MediaStream([event.track]); };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, 5000);  // no trickle ICE: the offer carries every candidate
      const response = await fetch(config.hub + "/whep/" + encodeURIComponent(this.camera), {
        method: "POST",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp,
      });
      if (response.status === 401 && config.kiosk) { expire(); return; }
      if (response.status !== 201) throw new Error(response.status + " " + (await response.text()));
      this.session = new URL(response.headers.get("Location"), config.hub + "/").href;
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      this.connects += 1;
      this.lastProgress = Date.now();
      this.framesDecoded = 0;
    } catch (error) {
      this.element.dataset.error = String(error);
    } finally {
      this.busy = false;
    }
  }

  async stop() {
    const session = this.session, pc = this.pc;
    this.session = null;
    this.pc = null;
    if (pc) pc.close();
    if (session) {
      fetch(session, { method: "DELETE", headers: { Authorization: "Bearer " + token }, keepalive: true })
        .catch(() => {});
    }
  }

  async stats() {
    let framesDecoded = 0, codec = null;
    if (this.pc) {
      const reports = await this.pc.getStats();
      let codecId = null;
      reports.forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "video") {
          framesDecoded = report.framesDecoded || 0;
          codecId = report.codecId;
        }
      });
      if (codecId && reports.get(codecId)) codec = reports.get(codecId).mimeType;
    }
    return {
      camera: this.camera,
      framesDecoded,
      codec,
      totalVideoFrames: this.video.getVideoPlaybackQuality().totalVideoFrames,
      connects: this.connects,
      noSignal: this.element.classList.contains("nosignal"),
      health: this.health,
      error: this.element.dataset.error || null,
    };
  }

  async check() {
    if (this.busy || expired) return;
    const now = Date.now();
    const { framesDecoded } = await this.stats();
    if (framesDecoded > this.framesDecoded) {
      this.framesDecoded = framesDecoded;
      this.lastProgress = now;
      this.retryMs = RETRY_FIRST_MS;
      this.setSignal(true);
      return;
    }
    if (now - this.lastProgress < STALL_MS) return;
    this.setSignal(false);
    const sinceAttempt = now - this.lastAttempt;
    const cameBack = this.health === "up" && sinceAttempt > STALL_MS;
    if (this.pc === null || cameBack || sinceAttempt > this.retryMs) {
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      await this.connect();
    }
  }
}

const tiles = new Map();
document.querySelectorAll(".tile").forEach((element) => {
  tiles.set(element.dataset.camera, new Tile(element));
});

function expire() {
  expired = true;
  showError(labels.link_expired);
  tiles.forEach((tile) => { tile.stop(); tile.setSignal(false); });
}

async function pollHealth() {
  if (expired || tiles.size === 0) return;
  try {
    const response = await fetch(config.hub + "/api/cameras", {
      headers: { Authorization: "Bearer " + token }, cache: "no-store",
    });
    if (response.status === 401 && config.kiosk) { expire(); return; }
    if (!response.ok) throw new Error(String(response.status));
    const seen = new Set();
    for (const camera of await response.json()) {
      const tile = tiles.get(camera.thingId);
      if (tile) { tile.setHealth(camera.health); seen.add(camera.thingId); }
    }
    tiles.forEach((tile, camera) => { if (!seen.has(camera)) tile.setHealth("unknown"); });
  } catch (error) {
    tiles.forEach((tile) => tile.setHealth("unknown"));
  }
}

async function renewToken() {
  try {
    const response = await fetch(config.refresh, { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401 && config.kiosk) { expire(); return; }
    if (response.ok) token = (await response.json()).token;
  } catch (error) {
    // keep the current token; the next renewal tries again
  }
}

window.wall = {
  tiles,
  stats: () => Promise.all([...tiles.values()].map((tile) => tile.stats())),
  stop: () => Promise.all([...tiles.values()].map((tile) => tile.stop())),
};
window.addEventListener("pagehide", () => { window.wall.stop(); });
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") document.querySelectorAll(".tile.big").forEach((t) => t.classList.remove("big"));
});

const renewEveryMs = Math.max(10, (config.expires - config.now) / 2) * 1000;
if (config.kiosk) {
  setTimeout(expire, Math.max(0, config.expires - config.now) * 1000);
} else {
  setInterval(renewToken, renewEveryMs);
}
setInterval(pollHealth, HEALTH_MS);
setInterval(() => tiles.forEach((tile) => tile.check()), CHECK_MS);
pollHealth();
tiles.forEach((tile) => tile.connect());
