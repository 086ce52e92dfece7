// The live feed: one WebSocket to /api/v1/ws while signed in, opened again by itself when it
// drops (waiting longer after each failure, up to 30 s) or goes silent (the server sends a
// heartbeat every 30 s). Pages listen for message types; after a reconnection they are told, so
// they can reload what they may have missed.

const SILENCE_LIMIT_MS = 75_000;
const LONGEST_WAIT_MS = 30_000;

export class LiveFeed {
  constructor(indicator) {
    this.indicator = indicator;
    this.listeners = new Map();
    this.failures = 0;
    this.stopped = true;
    this.everOpened = false;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.show("off", "");
  }

  /** Calls `handler(data, message)` for each message of `type`; returns the way to stop. */
  on(type, handler) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(handler);
    return () => this.listeners.get(type)?.delete(handler);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.socket = socket;
    this.show("connecting", "Connecting…");
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      this.failures = 0;
      this.show("live", "Live");
      this.expectMore();
      if (this.everOpened) this.emit("reconnected", {});
      this.everOpened = true;
    });
    socket.addEventListener("message", (message) => {
      if (this.socket !== socket) return;
      this.expectMore();
      let parsed;
      try { parsed = JSON.parse(message.data); } catch { return; }
      this.emit(parsed.type, parsed.data, parsed);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket || this.stopped) return;
      clearTimeout(this.silenceTimer);
      const wait = Math.min(LONGEST_WAIT_MS, 1000 * 2 ** this.failures++) * (0.5 + Math.random() / 2);
      this.show("down", `Reconnecting in ${Math.ceil(wait / 1000)} s`);
      this.retryTimer = setTimeout(() => this.connect(), wait);
      this.emit("down", {});
    });
  }

  /** A feed that says nothing for longer than two heartbeats is taken for dead. */
  expectMore() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.socket?.close(), SILENCE_LIMIT_MS);
  }

  emit(type, data, message) {
    for (const handler of this.listeners.get(type) ?? []) {
      try { handler(data, message); } catch (failure) { console.warn("live handler failed", failure); }
    }
  }

  show(state, text) {
    if (!this.indicator) return;
    this.indicator.dataset.state = state;
    this.indicator.textContent = text;
  }
}
