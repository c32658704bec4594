// The camera wall: each tile plays one camera over WHEP from the hub that pulls it (the
// tile's data-hub, chosen by the console from video.shards).
//
// Liveness is judged by decoded frames (inbound-rtp framesDecoded), never by the video's
// currentTime, which keeps advancing after a stream died. A tile whose frames stop for
// STALL_MS shows "no signal"; it then opens a new WHEP session — at once when the hub
// says the camera is up again, else with doubling waits — so it recovers without a
// reload. The page asks the console for its camera list every listEvery seconds: a camera
// added appears as a new tile (and its site as a new section), a camera removed (or no
// longer readable) goes, its session ended. That answer also carries a fresh viewer token,
// so the token is renewed well before it expires and lists the new cameras.
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
    this.hub = element.dataset.hub;
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
      const response = await fetch(this.hub + "/whep/" + encodeURIComponent(this.camera), {
        method: "POST",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp,
      });
      if (response.status === 401 && config.kiosk) { expire(); return; }
      if (response.status !== 201) throw new Error(response.status + " " + (await response.text()));
      this.session = new URL(response.headers.get("Location"), this.hub + "/").href;
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      if (this.removed) { await this.stop(); return; }  // the camera left while connecting
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
      hub: this.hub,
      framesDecoded,
      codec,
      totalVideoFrames: this.video.getVideoPlaybackQuality().totalVideoFrames,
      connects: this.connects,
      noSignal: this.element.classList.contains("nosignal"),
      health: this.health,
      error: this.element.dataset.error || null,
    };
  }

  remove() {
    this.removed = true;
    this.stop();
    this.element.remove();
  }

  async check() {
    if (this.busy || expired || this.removed) return;
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

async function pollHub(hub, hubTiles) {
  try {
    const response = await fetch(hub + "/api/cameras", {
      headers: { Authorization: "Bearer " + token }, cache: "no-store",
    });
    if (response.status === 401 && config.kiosk) { expire(); return; }
    if (!response.ok) throw new Error(String(response.status));
    const seen = new Set();
    for (const camera of await response.json()) {
      const tile = hubTiles.get(camera.thingId);
      if (tile) { tile.setHealth(camera.health); seen.add(camera.thingId); }
    }
    hubTiles.forEach((tile, camera) => { if (!seen.has(camera)) tile.setHealth("unknown"); });
  } catch (error) {
    hubTiles.forEach((tile) => tile.setHealth("unknown"));
  }
}

function pollHealth() {
  if (expired || tiles.size === 0) return;
  const byHub = new Map();
  tiles.forEach((tile, camera) => {
    if (!byHub.has(tile.hub)) byHub.set(tile.hub, new Map());
    byHub.get(tile.hub).set(camera, tile);
  });
  byHub.forEach((hubTiles, hub) => pollHub(hub, hubTiles));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tileElement(camera) {
  const node = element("div", "tile nosignal");
  node.dataset.camera = camera.thing_id;
  node.dataset.hub = camera.hub;
  node.dataset.health = camera.health;
  node.title = labels.enlarge;
  const video = element("video");
  video.autoplay = true; video.muted = true; video.playsInline = true;
  const name = element("div", "name", camera.label);
  name.title = camera.thing_id;
  node.append(video, element("div", "overlay", labels.connecting), element("span", "badge"), name);
  return node;
}

function siteSection(site) {
  const section = element("section");
  section.dataset.site = site.site;
  const heading = element("h2", null, site.name + " ");
  heading.title = site.site;
  heading.append(element("small", null, site.summary));
  section.append(heading, element("div", "tiles"));
  return section;
}

// Make the page show `sites` (the console's answer) without touching tiles that stay: a
// <video> moved in the document is paused, so new nodes are inserted, old ones left.
function reconcile(sites) {
  const wanted = new Map();
  sites.forEach((site) => site.cameras.forEach((camera) => wanted.set(camera.thing_id, camera)));
  tiles.forEach((tile, camera) => {
    if (!wanted.has(camera)) { tile.remove(); tiles.delete(camera); }
  });
  const main = document.getElementById("wall");
  let previousSection = null;
  for (const site of sites) {
    let section = main.querySelector(`section[data-site="${CSS.escape(site.site)}"]`);
    if (section === null) {
      section = siteSection(site);
      const first = main.querySelector("section");
      if (previousSection) previousSection.after(section);
      else if (first) first.before(section);
      else main.append(section);
    }
    section.querySelector("h2 small").textContent = site.summary;
    const row = section.querySelector(".tiles");
    let previousTile = null;
    for (const camera of site.cameras) {
      let tile = tiles.get(camera.thing_id);
      if (tile === undefined) {
        const node = tileElement(camera);
        if (previousTile) previousTile.after(node); else row.prepend(node);
        tile = new Tile(node);
        tile.setHealth(camera.health);
        tiles.set(camera.thing_id, tile);
        tile.connect();
      } else if (tile.hub !== camera.hub) {
        tile.hub = camera.hub;
        tile.element.dataset.hub = camera.hub;
        tile.connect();
      }
      previousTile = tile.element;
    }
    previousSection = section;
  }
  main.querySelectorAll("section").forEach((section) => {
    if (section.querySelector(".tile") === null) section.remove();
  });
  document.getElementById("no-cameras").hidden = tiles.size > 0;
}

async function refresh() {
  if (expired) return;
  try {
    const response = await fetch(config.refresh, { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401 && config.kiosk) { expire(); return; }
    if (!response.ok) return;
    const listed = await response.json();
    token = listed.token;
    reconcile(listed.sites);
  } catch (error) {
    // keep the current tiles and token; the next refresh tries again
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

const halfLifeS = Math.max(10, (config.expires - config.now) / 2);
if (config.kiosk) setTimeout(expire, Math.max(0, config.expires - config.now) * 1000);
setInterval(refresh, Math.min(config.listEvery, halfLifeS) * 1000);
setInterval(pollHealth, HEALTH_MS);
setInterval(() => tiles.forEach((tile) => tile.check()), CHECK_MS);
pollHealth();
tiles.forEach((tile) => tile.connect());
