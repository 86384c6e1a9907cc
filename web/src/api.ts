// The REST client: same origin, JSON in and out, the bearer token from the session, the API's error shape
// ({"error": {"code", "message"}}) turned into ApiError. A 401 on an authenticated call means the token was
// revoked or expired (logout elsewhere, a block, a force logout): the session ends (see session.ts).

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public retryAfter?: number) {
    super(message);
    this.name = "ApiError";
  }
}

/** A fresh Idempotency-Key: a retry sent with the same key does what the first request did, once. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const TOKEN_KEY = "botfleet.token";
let token: string | null = safeSession(() => sessionStorage.getItem(TOKEN_KEY));
let onUnauthorized: (() => void) | null = null;

function safeSession<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value;
  safeSession(() => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY)));
}

export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  accept?: string;
}

export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: options.accept ?? "application/json", ...options.headers };
  const sentToken = token;
  if (sentToken) headers.authorization = `Bearer ${sentToken}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let reply: Response;
  try {
    reply = await fetch(path, {
      method: options.method ?? (options.body !== undefined ? "POST" : "GET"),
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network", "Cannot reach botfleet. Check your connection; we will keep trying.");
  }
  if (reply.status === 204) return undefined as T;
  const text = await reply.text();
  let body: unknown = null;
  if (text && (reply.headers.get("content-type") ?? "").includes("json")) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  } else if (text) {
    body = text;
  }
  if (!reply.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    if (reply.status === 401 && sentToken && sentToken === token) onUnauthorized?.();
    const retry = Number(reply.headers.get("retry-after")) || undefined;
    throw new ApiError(reply.status, err?.code ?? `http_${reply.status}`, friendlyMessage(reply.status, err?.message), retry);
  }
  return body as T;
}

function friendlyMessage(status: number, message?: string): string {
  if (message) return message.charAt(0).toUpperCase() + message.slice(1);
  if (status === 429) return "Too many requests: wait a moment and try again.";
  if (status >= 500) return "botfleet had a problem answering. Try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return (error as Error)?.message ?? String(error);
}

/** Every page of a list (the API pages with next_cursor), up to `max` items. */
export async function allPages<T>(path: string, max = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: Page<T> = await api<Page<T>>(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// --- the wire types (docs/api.md; fields the dashboard reads) ---------------------------------------------

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: "user" | "admin";
  created_at: string;
  blocked?: boolean;
  /** Signed in with a temporary password from an admin's reset: choosing one's own comes first. */
  must_change_password?: boolean;
}

export interface Market {
  name: string;
  maker_fee: string;
  taker_fee: string;
  symbols: string[];
}

export interface Config {
  ws_url: string;
  exchanges: string[];
  markets?: Record<string, Market>;
  providers: string[];
  version: string;
}

export type BotStatus = "running" | "paused" | "quarantined" | "stopped";

export interface Bot {
  id: string;
  name: string;
  exchange: string;
  symbol: string;
  strategy: string;
  params: Record<string, number | string>;
  mode: "paper" | "live";
  status: BotStatus;
  pause_reason: string | null;
  pause_count: number;
  generation: number;
  parent_id: string | null;
  capital: string;
  cash?: string;
  position?: string;
  quote_currency?: string;
  realized_pnl?: string;
  risk?: { max_drawdown_pct?: string; daily_loss_pct?: string; max_consecutive_losses?: number };
  order_type?: "market" | "limit";
  limit_offset_bps?: string;
  limit_ttl_ticks?: number;
  quarantine?: Record<string, unknown> | null;
  created_at: string;
  updated_at?: string;
  deleted?: boolean;
}

export interface Trade {
  id: string;
  bot_id: string;
  exchange: string;
  symbol: string;
  side: "buy" | "sell";
  price: string;
  amount: string;
  cost: string;
  fee: string;
  fee_currency: string;
  slippage_bps: string;
  order_type?: string;
  realized_pnl?: string;
  mode: string;
  ts: string;
}

export interface BotEvent {
  kind: string;
  message?: string;
  reason?: string;
  rule?: string;
  ts: string;
}

export interface PortfolioBot {
  bot_id: string;
  name: string;
  exchange: string;
  symbol: string;
  status: BotStatus;
  currency: string;
  mark: string | null;
  cash: string;
  position: string;
  equity: string;
  realized_pnl: string;
  unrealized_pnl: string;
  total_pnl: string;
  net_injections: string;
  initial_capital: string;
  fees_paid: string;
  return_pct: string | null;
  drawdown_pct: string | null;
}

export interface PortfolioTotal {
  currency: string;
  cash: string;
  equity: string;
  realized_pnl: string;
  unrealized_pnl: string;
  total_pnl: string;
  net_injections: string;
  fees_paid: string;
}

export interface Portfolio {
  bots: PortfolioBot[];
  totals: PortfolioTotal[];
}

export interface Strategy {
  name: string;
  description: string;
  params: { name: string; type: "int" | "decimal"; min: number | string; max: number | string; step: number | string; default: number | string; description: string }[];
}

export interface KeyRecord {
  provider: string;
  configured: boolean;
  masked_key: string | null;
  updated_at: string | null;
  last_test: { ok: boolean; message: string; latency_ms?: number; ts?: string } | null;
  required_fields?: string[];
}

export interface KeyTest {
  provider: string;
  ok: boolean;
  message: string;
  latency_ms: number;
}

export interface QuarantineRow {
  bot_id: string;
  name: string;
  pause_count: number;
  stage: string | null;
  reason: string | null;
  quarantined_at: string | null;
  release_at: string | null;
  seconds_remaining: number;
  progress: number | null;
}

export interface QuarantineConfig {
  durations_seconds: number[];
  max_pauses: number;
}

export interface QuarantineEvent {
  bot_id: string;
  generation?: number;
  pause_number?: number;
  kind: string;
  message?: string;
  stage?: string;
  wait_seconds?: number;
  successor_id?: string;
  ts: string;
}

export interface TrainingRun {
  run_id: string;
  bot_id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "stopped";
  progress: number;
  strategy?: string;
  created_at?: string;
  finished_at?: string | null;
  error?: string | null;
  chunks?: { done: number; total: number };
  best: null | {
    params?: Record<string, number | string>;
    metrics?: { score?: number | string; in_sample?: Record<string, unknown>; out_of_sample?: Record<string, unknown>; validated?: boolean };
  };
}

export interface AssistantAction {
  id: string;
  type: string;
  description: string;
  requires_confirmation: boolean;
  needs_password?: boolean;
  status?: string;
  confirmation_token?: string;
  expires_at?: string;
  preview?: unknown;
}

export interface AssistantMessage {
  id?: string;
  role: "user" | "assistant";
  text: string;
  actions?: AssistantAction[];
  note?: string | null;
  ts?: string;
}

export interface ChatReply {
  reply: string;
  actions: AssistantAction[];
  note?: string | null;
  source?: string;
}

export interface AuditEntry {
  id: string;
  actor: string;
  actor_email?: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  ts: string;
}

export interface Candle {
  ts: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume?: string;
}

export interface EquityPoint {
  ts: string;
  equity: string;
  cash?: string;
  position?: string;
  mark?: string;
}

export interface Injection {
  id?: string;
  bot_id: string;
  amount: string;
  kind: "deposit" | "withdrawal";
  ts?: string;
  created_at?: string;
}
