// One WebSocket for the whole app (docs/websocket.md): subscribe on open, a ping after 35 s without any message (API
// Gateway's idle limit is 10 min) after which something must arrive within 10 s or the socket is given up on (any
// message proves the connection alive, so a dashboard that hears from its bots every tick pings once a minute
// instead of twice: each ping is a message in, a pong out and a ws-function call, all billed), reconnect with
// exponential backoff and full jitter (capped at 30 s) after any drop, and a "resync" signal after a reconnect so
// views read over REST what they missed. It subscribes with "batch": true, so what one broadcast owes it (a busy
// tick's news) comes as one "batch" message of several events: each is delivered as if it had come alone. A socket
// refused at the handshake cannot say why in a browser, so before reconnecting the session is checked over REST: a
// revoked token answers 401 there, and the session ends instead of retrying forever.
import { Bus, Store } from "./store";

export type LinkState = "idle" | "connecting" | "live" | "reconnecting" | "offline";

// A little over half the minute between ticks: after a tick's news and one ping, the next tick's news comes
// before a second ping is due, even when it arrives some seconds later than the last one.
export const PING_MS = 35_000;
const PONG_TIMEOUT_MS = 10_000;
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
// Not "metrics" (each bot's figures after its books move): a fill's trade already brings the bots' re-read, so the
// figures would be one more event per fill for every open dashboard to carry and ignore.
export const TOPICS = ["trades", "bots", "quarantine", "training", "assistant"];

export interface LinkStatus {
  state: LinkState;
  retryAt?: number;
  attempt: number;
}

export class LiveSocket {
  readonly status = new Store<LinkStatus>({ state: "idle", attempt: 0 });
  readonly events = new Bus();
  private socket: WebSocket | null = null;
  private url = "";
  private token = "";
  private attempt = 0;
  private everOpened = false;
  private stopped = true;
  private retryTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private inbox: Array<[string, unknown]> = [];
  /** Asked before each reconnect: false means "do not reconnect" (the session ended). */
  beforeReconnect: () => Promise<boolean> = async () => true;

  start(url: string, token: string): void {
    this.stop();
    this.url = url;
    this.token = token;
    this.stopped = false;
    this.attempt = 0;
    this.everOpened = false;
    addEventListener("online", this.onOnline);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    removeEventListener("online", this.onOnline);
    clearTimeout(this.retryTimer);
    this.inbox = [];
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
      socket.close(1000, "signed out");
    }
    this.status.set({ state: "idle", attempt: 0 });
  }

  /** Reconnect now (the indicator's "retry now", or the browser coming back online). */
  retryNow(): void {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  send(message: unknown): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private onOnline = () => this.retryNow();

  private connect(): void {
    this.status.set({ state: this.everOpened ? "reconnecting" : "connecting", attempt: this.attempt });
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${this.url}?token=${encodeURIComponent(this.token)}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.status.set({ state: "live", attempt: 0 });
      this.send({ action: "subscribe", topics: TOPICS, batch: true });
      this.heard();
      if (reconnected) this.events.emit("resync");
    };
    socket.onmessage = (message) => {
      this.heard();
      let parsed: { type?: string; data?: unknown };
      try {
        parsed = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (parsed.type === "batch") {
        if (!Array.isArray(parsed.data)) return;
        for (const event of parsed.data as Array<{ type?: unknown; data?: unknown } | null>) {
          if (event && typeof event.type === "string") this.deliver(event.type, event.data);
        }
        return;
      }
      if (parsed.type) this.deliver(parsed.type, parsed.data);
    };
    socket.onclose = () => {
      this.socket = null;
      this.clearTimers();
      if (!this.stopped) this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and reconnects
    };
  }

  /** Messages reach the app once per animation frame, in order: a burst (a tick filling hundreds of bots, a busy
   * fleet's 50 fills a second) costs the views one render per frame, not one per message. */
  private deliver(type: string, data: unknown): void {
    this.inbox.push([type, data]);
    if (this.inbox.length === 1) nextFrame(this.flush);
  }

  private flush = (): void => {
    const batch = this.inbox;
    this.inbox = [];
    for (const [type, data] of batch) this.events.emit(type, data);
  };

  /** The connection is alive (it opened, or a message came): the next ping is due after PING_MS of silence, and
   * a ping waiting for its pong has its answer. */
  private heard(): void {
    this.clearTimers();
    this.pingTimer = window.setTimeout(() => this.ping(), PING_MS);
  }

  private ping(): void {
    if (!this.send({ action: "ping" })) return;
    // A half-open connection (laptop lid, NAT) never closes by itself: nothing in time means it is gone.
    this.pongTimer = window.setTimeout(() => this.abandon(), PONG_TIMEOUT_MS);
  }

  /** Give up on a socket that stopped answering and reconnect now. Not close() and wait: on a half-open
   * connection the closing handshake gets no answer either, and onclose can take minutes to come. */
  private abandon(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
    socket.close(4000, "no pong");
    this.clearTimers();
    if (!this.stopped) this.scheduleReconnect();
  }

  private clearTimers(): void {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = this.pongTimer = undefined;
  }

  private async scheduleReconnect(): Promise<void> {
    const delay = backoff(this.attempt++);
    this.status.set({ state: navigator.onLine === false ? "offline" : "reconnecting", retryAt: Date.now() + delay, attempt: this.attempt });
    let keepGoing = true;
    try {
      keepGoing = await this.beforeReconnect();
    } catch {
      keepGoing = true;
    }
    if (!keepGoing || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), Math.max(0, (this.status.value.retryAt ?? 0) - Date.now()));
  }
}

/** Run `task` once, at the next animation frame, or after 250 ms if no frame comes (a hidden tab draws none). */
export function nextFrame(task: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    task();
  };
  const timer = setTimeout(run, 250);
  requestAnimationFrame(run);
}

/** Exponential backoff with full jitter: uniform in [base/2, min(cap, base·2^attempt)]. */
export function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 10));
  return Math.round(BASE_DELAY_MS / 2 + Math.random() * (ceiling - BASE_DELAY_MS / 2));
}

export const live = new LiveSocket();
