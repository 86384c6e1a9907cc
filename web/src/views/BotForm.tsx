// Create or edit a bot: the exchange's symbols from /api/config, the strategy's parameter space from
// /api/strategies, capital, mode, risk limits and the order type. The API validates everything again; its 422
// names the field, which is shown beside the form.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, Bot, errorText, newIdempotencyKey, Strategy } from "../api";
import { Card, ErrorNote, Loading, PageHeader } from "../components/ui";
import { humanize, money, percent, quoteCurrency } from "../format";
import { useAsync, useTitle } from "../hooks";
import { href, navigate } from "../router";
import { config, toast, upsertBot } from "../session";
import { useStore } from "../store";

let strategiesCache: Strategy[] | null = null;
export async function loadStrategies(): Promise<Strategy[]> {
  if (!strategiesCache) strategiesCache = (await api<{ items: Strategy[] }>("/api/strategies")).items;
  return strategiesCache;
}

export function BotForm({ botId }: { botId?: string }) {
  const editing = !!botId;
  useTitle(editing ? "Edit bot" : "New bot");
  const cfg = useStore(config);
  const strategies = useAsync(loadStrategies, []);
  const existing = useAsync(() => (botId ? api<Bot>(`/api/bots/${encodeURIComponent(botId)}`) : Promise.resolve(null)), [botId]);
  const exchanges = cfg?.exchanges ?? [];
  // One key per bot this form creates: a retried submit (a dropped connection) gets the bot the first one made.
  const [createKey, setCreateKey] = useState(newIdempotencyKey);
  const [exchange, setExchange] = useState("");
  const [symbol, setSymbol] = useState("");
  const [strategy, setStrategy] = useState("");
  const [params, setParams] = useState<Record<string, string>>({});
  const [orderType, setOrderType] = useState<"market" | "limit">("market");
  const [mode, setMode] = useState<"paper" | "live">("paper");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const bot = existing.data;
  useEffect(() => {
    if (bot) {
      setExchange(bot.exchange);
      setSymbol(bot.symbol);
      setStrategy(bot.strategy);
      setParams(Object.fromEntries(Object.entries(bot.params ?? {}).map(([k, v]) => [k, String(v)])));
      setOrderType(bot.order_type ?? "market");
      setMode(bot.mode);
    } else if (!editing && exchanges.length && !exchange) {
      setExchange(exchanges[0]);
    }
  }, [bot, exchanges.length]);

  const symbols = cfg?.markets?.[exchange]?.symbols ?? [];
  useEffect(() => {
    if (!editing && symbols.length && !symbols.includes(symbol)) setSymbol(symbols[0]);
  }, [exchange, symbols.length]);

  const chosen = useMemo(() => strategies.data?.find((s) => s.name === strategy), [strategies.data, strategy]);
  useEffect(() => {
    if (!editing && strategies.data?.length && !strategy) setStrategy(strategies.data[0].name);
  }, [strategies.data]);
  useEffect(() => {
    if (chosen && !(editing && bot?.strategy === chosen.name && Object.keys(params).length)) {
      setParams(Object.fromEntries(chosen.params.map((p) => [p.name, String(p.default)])));
    }
  }, [chosen?.name]);

  const currency = quoteCurrency(symbol);

  async function submit(event: Event) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const risk: Record<string, string | number> = {};
    if (text("max_drawdown_pct")) risk.max_drawdown_pct = text("max_drawdown_pct");
    if (text("daily_loss_pct")) risk.daily_loss_pct = text("daily_loss_pct");
    if (text("max_consecutive_losses")) risk.max_consecutive_losses = Number(text("max_consecutive_losses"));
    const typed: Record<string, number | string> = {};
    for (const p of chosen?.params ?? []) typed[p.name] = p.type === "int" ? Number(params[p.name]) : params[p.name];
    const body: Record<string, unknown> = {
      name: text("name"),
      params: typed,
      capital: text("capital"),
      order_type: orderType,
      ...(Object.keys(risk).length ? { risk } : {}),
      ...(orderType === "limit" ? { limit_offset_bps: text("limit_offset_bps") || undefined, limit_ttl_ticks: text("limit_ttl_ticks") ? Number(text("limit_ttl_ticks")) : undefined } : {}),
    };
    if (!editing) Object.assign(body, { exchange, symbol, strategy, mode });
    else if (bot && body.capital === bot.capital) delete body.capital;
    setBusy(true);
    setError(null);
    try {
      const saved = await api<Bot>(editing ? `/api/bots/${encodeURIComponent(botId!)}` : "/api/bots", { method: editing ? "PATCH" : "POST", body, headers: editing ? undefined : { "Idempotency-Key": createKey } });
      upsertBot(saved);
      toast("success", editing ? `${saved.name} saved` : `${saved.name} is running`, editing ? undefined : `${saved.symbol} on ${saved.exchange}, ${saved.mode} mode`);
      navigate(`/bots/${saved.id}`);
    } catch (e) {
      // Refused (nothing was created): the corrected request is a new one. No answer: the retry keeps the key.
      if (e instanceof ApiError && e.status < 500) setCreateKey(newIdempotencyKey());
      setError(errorText(e));
      setBusy(false);
      requestAnimationFrame(() => document.getElementById("bot-form-error")?.focus());
    }
  }

  if ((editing && existing.loading && !bot) || strategies.loading && !strategies.data) return <><PageHeader title={editing ? "Edit bot" : "New bot"} /><Loading /></>;
  if (existing.error || strategies.error) return <><PageHeader title={editing ? "Edit bot" : "New bot"} /><ErrorNote error={existing.error || strategies.error} /></>;

  return (
    <>
      <PageHeader title={editing ? `Edit ${bot?.name ?? "bot"}` : "New bot"}>
        <a href={href(editing ? `/bots/${botId}` : "/bots")}>Cancel</a>
      </PageHeader>
      <form class="bot-form" onSubmit={submit} novalidate={false}>
        <Card title="Market">
          <div class="grid-2">
            <div class="field">
              <label for="bot-name">Name</label>
              <input id="bot-name" name="name" required maxLength={64} defaultValue={bot?.name ?? ""} placeholder="e.g. BTC trend follower" />
            </div>
            <div class="field">
              <label for="bot-exchange">Exchange</label>
              <select id="bot-exchange" name="exchange" value={exchange} disabled={editing} onChange={(e) => setExchange(e.currentTarget.value)}>
                {exchanges.map((ex) => <option key={ex} value={ex}>{cfg?.markets?.[ex]?.name ?? ex}</option>)}
              </select>
            </div>
            <div class="field">
              <label for="bot-symbol">Symbol</label>
              <select id="bot-symbol" name="symbol" value={symbol} disabled={editing} onChange={(e) => setSymbol(e.currentTarget.value)}
                aria-describedby="bot-symbol-hint">
                {symbols.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
              {cfg?.markets?.[exchange] && (
                <small id="bot-symbol-hint" class="hint">Fees on {cfg.markets[exchange].name}: maker {percent(Number(cfg.markets[exchange].maker_fee) * 100, 3)}, taker {percent(Number(cfg.markets[exchange].taker_fee) * 100, 3)}</small>
              )}
            </div>
            <fieldset class="field">
              <legend>Mode</legend>
              <div class="radios">
                {(["paper", "live"] as const).map((m) => (
                  <label key={m}>
                    <input type="radio" name="mode" value={m} checked={mode === m} disabled={editing} onChange={() => setMode(m)} />
                    {m === "paper" ? "Paper (simulated money)" : "Live (real orders)"}
                  </label>
                ))}
              </div>
              {mode === "live" && !editing && <small class="hint warn">Live mode trades real money with the {exchange} key saved under API keys.</small>}
            </fieldset>
          </div>
        </Card>

        <Card title="Strategy">
          <div class="field">
            <label for="bot-strategy">Strategy</label>
            <select id="bot-strategy" name="strategy" value={strategy} disabled={editing} onChange={(e) => setStrategy(e.currentTarget.value)} aria-describedby="bot-strategy-hint">
              {strategies.data?.map((s) => <option key={s.name} value={s.name}>{humanize(s.name)}</option>)}
            </select>
            {chosen && <small id="bot-strategy-hint" class="hint">{chosen.description}</small>}
          </div>
          <div class="grid-3">
            {chosen?.params.map((p) => (
              <div class="field" key={p.name}>
                <label for={`param-${p.name}`}>{humanize(p.name)}</label>
                <input id={`param-${p.name}`} type="number" inputMode={p.type === "int" ? "numeric" : "decimal"} required
                  min={String(p.min)} max={String(p.max)} step={String(p.step)} value={params[p.name] ?? ""}
                  aria-describedby={`param-${p.name}-hint`}
                  onInput={(e) => setParams({ ...params, [p.name]: e.currentTarget.value })} />
                <small id={`param-${p.name}-hint`} class="hint">{p.description} ({String(p.min)}–{String(p.max)})</small>
              </div>
            ))}
          </div>
        </Card>

        <Card title="Money and risk">
          <div class="grid-3">
            <div class="field">
              <label for="bot-capital">Capital ({currency || "quote currency"})</label>
              <input id="bot-capital" name="capital" inputMode="decimal" required pattern="[0-9]+(\.[0-9]+)?" defaultValue={bot?.capital ?? (currency === "ZAR" ? "50000" : "1000")}
                aria-describedby="bot-capital-hint" />
              <small id="bot-capital-hint" class="hint">{editing ? "A new amount is recorded as a deposit or withdrawal, never as P&L." : `Allocated to this bot; e.g. ${money(currency === "ZAR" ? 50000 : 1000, currency)}`}</small>
            </div>
            <div class="field">
              <label for="risk-dd">Max drawdown (%)</label>
              <input id="risk-dd" name="max_drawdown_pct" inputMode="decimal" placeholder="20" defaultValue={bot?.risk?.max_drawdown_pct ?? ""} aria-describedby="risk-hint" />
            </div>
            <div class="field">
              <label for="risk-daily">Daily loss limit (%)</label>
              <input id="risk-daily" name="daily_loss_pct" inputMode="decimal" placeholder="10" defaultValue={bot?.risk?.daily_loss_pct ?? ""} aria-describedby="risk-hint" />
            </div>
            <div class="field">
              <label for="risk-losses">Losses in a row</label>
              <input id="risk-losses" name="max_consecutive_losses" type="number" min="1" max="1000" placeholder="5" defaultValue={bot?.risk?.max_consecutive_losses?.toString() ?? ""} aria-describedby="risk-hint" />
            </div>
          </div>
          <p id="risk-hint" class="hint">Crossing a limit trips the circuit breaker: the bot is paused, quarantined 1 h / 3 h / 24 h with retraining, and regenerated on the 4th trip. Empty fields take the defaults shown.</p>
          <fieldset class="field">
            <legend>Order type</legend>
            <div class="radios">
              <label><input type="radio" name="order_type" value="market" checked={orderType === "market"} onChange={() => setOrderType("market")} /> Market (fills now, pays the taker fee)</label>
              <label><input type="radio" name="order_type" value="limit" checked={orderType === "limit"} onChange={() => setOrderType("limit")} /> Limit (rests in the book)</label>
            </div>
          </fieldset>
          {orderType === "limit" && (
            <div class="grid-3">
              <div class="field">
                <label for="limit-offset">Limit offset (bps)</label>
                <input id="limit-offset" name="limit_offset_bps" inputMode="decimal" placeholder="10" defaultValue={bot?.limit_offset_bps ?? ""} />
              </div>
              <div class="field">
                <label for="limit-ttl">Cancel after (ticks)</label>
                <input id="limit-ttl" name="limit_ttl_ticks" type="number" min="1" max="1440" placeholder="5" defaultValue={bot?.limit_ttl_ticks?.toString() ?? ""} />
              </div>
            </div>
          )}
        </Card>
        {error && <p class="error" role="alert" id="bot-form-error" tabIndex={-1}>{error}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>{busy ? "Saving…" : editing ? "Save changes" : "Create and start bot"}</button>
          <a class="button secondary" href={href(editing ? `/bots/${botId}` : "/bots")}>Cancel</a>
        </div>
      </form>
    </>
  );
}
