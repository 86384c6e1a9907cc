// The app's shared state: who is signed in, the public config, the caller's bots and recent trades (kept live
// from the WebSocket), and toasts. Views read these stores; only this module talks to the socket's lifecycle.
import { allPages, api, ApiError, Bot, Config, getToken, setToken, Trade, User, whenUnauthorized } from "./api";
import { baseCurrency, money, humanize, quoteCurrency, number } from "./format";
import { live } from "./live";
import { Store } from "./store";

export interface Session {
  user: User | null;
  ready: boolean;
  notice?: string; // why the last session ended (shown on the sign-in page)
}

export interface Toast {
  id: number;
  kind: "info" | "success" | "warning" | "error";
  title: string;
  body?: string;
  href?: string;
}

export const session = new Store<Session>({ user: null, ready: false });
export const config = new Store<Config | null>(null);
export const bots = new Store<{ items: Bot[]; loaded: boolean; error?: string }>({ items: [], loaded: false });
export const recentTrades = new Store<Trade[]>([]);
export const toasts = new Store<Toast[]>([]);
export const adminUnlocked = new Store<boolean>(false);

const RECENT_TRADES = 100;
let toastId = 0;

export function toast(kind: Toast["kind"], title: string, body?: string, href?: string, ttlMs = 7000): void {
  const id = ++toastId;
  toasts.update((list) => [...list.slice(-4), { id, kind, title, body, href }]);
  if (ttlMs > 0) setTimeout(() => dismissToast(id), ttlMs);
}

export function dismissToast(id: number): void {
  toasts.update((list) => list.filter((t) => t.id !== id));
}

export async function loadConfig(): Promise<Config> {
  if (config.value) return config.value;
  const value = await api<Config>("/api/config");
  config.set(value);
  return value;
}

export async function boot(): Promise<void> {
  whenUnauthorized(() => endSession("Your session ended (signed out elsewhere, expired or blocked). Please sign in again."));
  try {
    await loadConfig();
  } catch {
    // the sign-in page says so when it tries
  }
  if (!getToken()) {
    session.set({ user: null, ready: true });
    return;
  }
  try {
    const user = await api<User>("/api/auth/me");
    await begin(user);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) setToken(null);
    session.set({ user: null, ready: true });
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  const reply = await api<{ access_token: string; user: User }>("/api/auth/login", { body: { email, password } });
  setToken(reply.access_token);
  await begin(reply.user);
}

export async function register(name: string, email: string, password: string): Promise<void> {
  const reply = await api<{ access_token: string; user: User }>("/api/auth/register", { body: { name, email, password } });
  setToken(reply.access_token);
  await begin(reply.user);
}

export async function signOut(): Promise<void> {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // the token may already be gone: signing out locally is what matters
  }
  endSession("You signed out.");
}

function endSession(notice: string): void {
  if (!session.value.user && !getToken()) return;
  live.stop();
  setToken(null);
  bots.set({ items: [], loaded: false });
  recentTrades.set([]);
  adminUnlocked.set(false);
  clearTimeout(fillTimer);
  fillTimer = undefined;
  pendingFills = [];
  toasts.set([]);
  session.set({ user: null, ready: true, notice });
  if (location.hash && location.hash !== "#/") history.replaceState(null, "", location.pathname + location.search);
}

/** The caller's own new password: every other session ends, and this one goes on with the fresh token. The socket
 * stops first: the server closes the account's sockets before it answers, and a closed socket checks the session
 * before reconnecting, with the token the change has just revoked, which signed this page out (and the answer then
 * signed it back in on the overview). */
export async function changePassword(current: string, next: string): Promise<void> {
  live.stop();
  let reply: { access_token: string; user: User };
  try {
    reply = await api<{ access_token: string; user: User }>("/api/auth/password", {
      body: { current_password: current, new_password: next },
    });
  } catch (error) {
    // Refused (a wrong current password): this session goes on as it was (a temporary one never had a socket).
    if (!session.value.user?.must_change_password) void startLive();
    throw error;
  }
  setToken(reply.access_token);
  await begin(reply.user);
}

async function begin(user: User): Promise<void> {
  session.set({ user, ready: true });
  if (user.must_change_password) return; // nothing else answers until a password of one's own is chosen
  void refreshBots();
  void refreshTrades();
  await startLive();
}

async function startLive(): Promise<void> {
  const cfg = await loadConfig().catch(() => null);
  const token = getToken();
  if (cfg && token) live.start(cfg.ws_url, token);
}

// --- the bots list and the recent trades, live ------------------------------------------------------------

export async function refreshBots(): Promise<void> {
  try {
    const items = keepUnchanged(bots.value.items, await allPages<Bot>("/api/bots"));
    bots.set({ items, loaded: true });
  } catch (error) {
    bots.update((b) => ({ ...b, loaded: true, error: (error as Error).message }));
  }
}

export async function refreshTrades(): Promise<void> {
  try {
    const page = await api<{ items: Trade[] }>(`/api/trades?limit=${RECENT_TRADES}`);
    recentTrades.set(page.items);
  } catch {
    // the views show their own errors
  }
}

/** The fresh list, with each bot that did not change kept as the very object the views already have: memoized
 * rows skip it (a busy fleet re-reads its list every few seconds; only the bots that traded re-render). */
export function keepUnchanged(old: Bot[], fresh: Bot[]): Bot[] {
  const before = new Map(old.map((b) => [b.id, b]));
  return fresh.map((bot) => {
    const known = before.get(bot.id);
    return known && sameBot(known, bot) ? known : bot;
  });
}

function sameBot(a: Bot, b: Bot): boolean {
  const keys = Object.keys(b) as (keyof Bot)[];
  if (keys.length !== Object.keys(a).length) return false;
  return keys.every((k) => a[k] === b[k] || (typeof b[k] === "object" && JSON.stringify(a[k]) === JSON.stringify(b[k])));
}

export function upsertBot(bot: Bot): void {
  bots.update((b) => {
    const index = b.items.findIndex((x) => x.id === bot.id);
    if (bot.deleted) return { ...b, items: b.items.filter((x) => x.id !== bot.id) };
    if (index < 0) return { ...b, items: [bot, ...b.items] };
    const items = b.items.slice();
    items[index] = { ...items[index], ...bot };
    return { ...b, items };
  });
}

export function removeBot(id: string): void {
  bots.update((b) => ({ ...b, items: b.items.filter((x) => x.id !== id) }));
}

export function botName(id: string): string {
  return bots.value.items.find((b) => b.id === id)?.name ?? id;
}

// A trade moves the bot's cash and position, which no bot_status event carries: read the list again, at most
// every few seconds however many fills arrive.
let refreshTimer: number | undefined;
function refreshBotsSoon(): void {
  if (refreshTimer !== undefined) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = undefined;
    void refreshBots();
  }, 2500);
}

const NOT_A_TRIP = /manual|emergency|admin|assistant|user/;

export function isTrip(bot: Pick<Bot, "status" | "pause_reason">): boolean {
  return bot.status === "paused" && !!bot.pause_reason && !NOT_A_TRIP.test(bot.pause_reason);
}

// One toast per fill while fills are rare; when they come faster than one per FILL_TOAST_MS, the others are counted
// into one summary toast at most every FILL_TOAST_MS (a fleet filling 50 times a second is not 50 toasts a second,
// nor 50 announcements a second for a screen reader).
const FILL_TOAST_MS = 2000;
let lastFillToast = -Infinity;
let pendingFills: Trade[] = [];
let fillTimer: number | undefined;

function toastFill(trade: Trade): void {
  const verb = trade.side === "buy" ? "Bought" : "Sold";
  toast("success", `${verb} ${number(trade.amount)} ${baseCurrency(trade.symbol)}`,
    `${botName(trade.bot_id)} · ${trade.symbol} at ${money(trade.price, quoteCurrency(trade.symbol))} on ${trade.exchange}`,
    `/bots/${trade.bot_id}`);
}

function noteFill(trade: Trade): void {
  const now = Date.now();
  if (fillTimer === undefined && now - lastFillToast >= FILL_TOAST_MS) {
    lastFillToast = now;
    toastFill(trade);
    return;
  }
  pendingFills.push(trade);
  if (fillTimer === undefined) fillTimer = window.setTimeout(flushFills, Math.max(0, lastFillToast + FILL_TOAST_MS - now));
}

function flushFills(): void {
  fillTimer = undefined;
  const fills = pendingFills;
  pendingFills = [];
  if (!fills.length) return;
  lastFillToast = Date.now();
  if (fills.length === 1) {
    toastFill(fills[0]);
    return;
  }
  const bought = fills.filter((t) => t.side === "buy").length;
  const botCount = new Set(fills.map((t) => t.bot_id)).size;
  toast("success", `${fills.length} more fills`, `${bought} bought, ${fills.length - bought} sold by ${botCount} bot${botCount === 1 ? "" : "s"}`, "/trades");
}

live.events.on("trade", (trade: Trade) => {
  recentTrades.update((list) => (list.some((t) => t.id === trade.id) ? list : [trade, ...list].slice(0, RECENT_TRADES)));
  noteFill(trade);
  refreshBotsSoon();
});

live.events.on("bot_status", (bot: Bot) => {
  const before = bots.value.items.find((b) => b.id === bot.id);
  upsertBot(bot);
  if (bot.deleted || !before || before.status === bot.status) return;
  if (bot.status === "quarantined") {
    toast("error", `${bot.name} is quarantined`, `Pause ${bot.pause_count}: ${humanize(bot.pause_reason) || "risk limit"}. It will be retrained and redeployed.`, `/bots/${bot.id}`, 12000);
  } else if (isTrip(bot)) {
    toast("error", `Circuit breaker tripped on ${bot.name}`, humanize(bot.pause_reason), `/bots/${bot.id}`, 12000);
  } else {
    toast("info", `${bot.name} is ${bot.status}`, bot.pause_reason ? humanize(bot.pause_reason) : undefined, `/bots/${bot.id}`);
  }
});

live.events.on("quarantine", (event: { bot_id: string; kind: string; message?: string; successor_id?: string }) => {
  if (event.kind === "redeployed") toast("success", `${botName(event.bot_id)} is back in the market`, event.message, `/bots/${event.bot_id}`);
  if (event.kind === "regenerated") {
    toast("warning", `${botName(event.bot_id)} was regenerated`, event.message, event.successor_id ? `/bots/${event.successor_id}` : undefined, 12000);
    void refreshBots();
  }
});

live.events.on("training", (run: { bot_id: string; status: string }) => {
  if (run.status === "succeeded") toast("success", `Training finished for ${botName(run.bot_id)}`, "Review the best parameters and apply them.", `/training`);
  if (run.status === "failed") toast("error", `Training failed for ${botName(run.bot_id)}`, undefined, `/training`);
});

live.events.on("resync", () => {
  void refreshBots();
  void refreshTrades();
});

// A socket that closed may mean a revoked token: ask the API (a 401 there ends the session via whenUnauthorized).
live.beforeReconnect = async () => {
  if (!getToken()) return false;
  try {
    await api("/api/auth/me");
    return true;
  } catch (error) {
    return !(error instanceof ApiError && error.status === 401);
  }
};
