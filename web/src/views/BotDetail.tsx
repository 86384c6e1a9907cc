// One bot: its numbers, the price chart with its buy/sell markers, the equity curve, the quarantine card with
// the ladder, trades, the events timeline, quarantine history and training runs. Live from the socket.
import { useEffect, useState } from "preact/hooks";
import { api, Bot, BotEvent, Page, Portfolio, QuarantineEvent, Trade, TrainingRun } from "../api";
import { EquityChart, PriceChart } from "../components/charts";
import { loadQuarantine, QuarantineCard, QuarantineTimeline, useQuarantineConfig } from "../components/quarantine";
import { Card, Empty, ErrorNote, Loading, PageHeader, StatusPill } from "../components/ui";
import { baseCurrency, fullTime, humanize, money, number, percent, pnlClass, signedMoney, when } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";
import { href, navigate } from "../router";
import { bots, upsertBot } from "../session";
import { useStore } from "../store";
import { DeleteBotDialog, LifecycleButtons } from "./Bots";
import { TradeTable } from "./Trades";
import { paramsText, RunList, StartTraining } from "./Training";

export function BotDetail({ id }: { id: string }) {
  const fromList = useStore(bots).items.find((b) => b.id === id);
  const fetched = useAsync(() => api<Bot>(`/api/bots/${encodeURIComponent(id)}`), [id]);
  const bot = fromList ? { ...fetched.data, ...fromList } as Bot : fetched.data;
  useTitle(bot?.name ?? "Bot");
  const trades = useAsync(() => api<Page<Trade>>(`/api/bots/${encodeURIComponent(id)}/trades?limit=200`), [id]);
  const events = useAsync(() => api<Page<BotEvent>>(`/api/bots/${encodeURIComponent(id)}/events?limit=50`), [id]);
  const portfolio = useAsync(() => api<Portfolio>("/api/portfolio"), [id]);
  const qhistory = useAsync(() => api<Page<QuarantineEvent>>(`/api/quarantine/history?bot_id=${encodeURIComponent(id)}&limit=50`), [id]);
  const qstatus = useAsync(loadQuarantine, [id]);
  const qconfig = useQuarantineConfig();
  const runs = useAsync(() => api<Page<TrainingRun>>(`/api/training/history?bot_id=${encodeURIComponent(id)}&limit=20`), [id]);
  const [deleting, setDeleting] = useState(false);

  useLive("trade", (trade: Trade) => {
    if (trade.bot_id !== id) return;
    trades.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: [trade, ...(old?.items ?? []).filter((t) => t.id !== trade.id)] }));
    void portfolio.reload();
    void fetched.reload();
  });
  useLive("bot_status", (changed: Bot) => {
    if (changed.id !== id) return;
    void events.reload();
    void qstatus.reload();
    void portfolio.reload();
  });
  useLive("quarantine", (event: QuarantineEvent) => {
    if (event.bot_id !== id) return;
    qhistory.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: [event, ...(old?.items ?? [])] }));
    void qstatus.reload();
  });
  useLive("training", (run: TrainingRun) => {
    if (run.bot_id === id) runs.setData((old) => mergeRun(old, run));
  });
  useLive("resync", () => {
    for (const read of [fetched, trades, events, portfolio, qhistory, qstatus, runs]) void read.reload();
  });
  // Keep the countdown honest: re-read the remaining time while quarantined.
  useEffect(() => {
    if (bot?.status !== "quarantined") return;
    const timer = setInterval(() => void qstatus.reload(), 15_000);
    return () => clearInterval(timer);
  }, [bot?.status]);

  if (!bot) {
    return (
      <>
        <PageHeader title="Bot" />
        {fetched.loading ? <Loading /> : <ErrorNote error={fetched.error} retry={fetched.reload} />}
        {!fetched.loading && !fetched.error && <Empty title="This bot does not exist (any more)."><a href={href("/bots")}>All bots</a></Empty>}
      </>
    );
  }

  const row = portfolio.data?.bots.find((b) => b.bot_id === id);
  const currency = bot.quote_currency ?? row?.currency ?? "";
  const qrow = qstatus.data?.rows.find((r) => r.bot_id === id);
  const tradeList = trades.data?.items ?? [];

  return (
    <>
      <nav aria-label="Breadcrumb" class="breadcrumb"><a href={href("/bots")}>Bots</a> <span aria-hidden="true">/</span> <span aria-current="page">{bot.name}</span></nav>
      <PageHeader title={bot.name}>
        <StatusPill status={bot.status} reason={bot.pause_reason} />
        <LifecycleButtons bot={bot} />
        <a class="button secondary small" href={href(`/bots/${id}/edit`)}>Edit</a>
        <button type="button" class="small danger-outline" onClick={() => setDeleting(true)}>Delete</button>
      </PageHeader>
      <p class="meta">
        {bot.symbol} on {bot.exchange} · {humanize(bot.strategy)} (<span data-testid="bot-params">{paramsText(bot.params)}</span>)
        · <span class={`mode ${bot.mode}`}>{bot.mode}</span> · {bot.order_type ?? "market"} orders
        {bot.generation > 1 && <> · generation {bot.generation}{bot.parent_id && <> (from <a href={href(`/bots/${bot.parent_id}`)}>its parent</a>)</>}</>}
        {bot.pause_reason && bot.status !== "running" && <> · paused: {humanize(bot.pause_reason)}</>}
      </p>

      <ul class="stat-grid wide" role="list" aria-label="Numbers">
        <li class="stat"><span class="stat-value">{money(row?.equity ?? bot.capital, currency)}</span><span class="stat-label">Equity</span></li>
        <li class="stat"><span class={`stat-value ${pnlClass(row?.total_pnl)}`}>{signedMoney(row?.total_pnl ?? 0, currency)}</span><span class="stat-label">Total P&amp;L {row?.return_pct ? `(${percent(row.return_pct)})` : ""}</span></li>
        <li class="stat"><span class="stat-value">{money(bot.cash, currency)}</span><span class="stat-label">Cash</span></li>
        <li class="stat"><span class="stat-value">{number(bot.position)} <small>{baseCurrency(bot.symbol)}</small></span><span class="stat-label">Position</span></li>
        <li class="stat"><span class="stat-value">{percent(row?.drawdown_pct ?? 0)}</span><span class="stat-label">Drawdown (limit {percent(bot.risk?.max_drawdown_pct ?? 20)})</span></li>
      </ul>

      {bot.status === "quarantined" && qrow && <QuarantineCard row={qrow} fetchedAt={qstatus.data!.at} config={qconfig.data} headingLevel={2} />}
      {bot.status === "quarantined" && !qrow && qstatus.loading && <Loading label="Reading the quarantine…" />}

      <div class="grid-charts">
        <Card title="Price and fills">
          <PriceChart exchange={bot.exchange} symbol={bot.symbol} trades={tradeList} />
        </Card>
        <Card title="Equity curve">
          <EquityChart botId={id} currency={currency} liveKey={tradeList[0]?.id} />
        </Card>
      </div>

      <Card title="Trades">
        {trades.loading && !trades.data ? <Loading /> : <ErrorNote error={trades.error} retry={trades.reload} />}
        {trades.data && <TradeTable trades={tradeList} showBot={false} empty="No fills yet. The bot trades when its strategy sees a signal; fills appear here live." />}
        {tradeList.length > 0 && <a href={href(`/trades?bot_id=${id}`)}>All of this bot's trades, with CSV export</a>}
      </Card>

      <div class="grid-2">
        <Card title="Events">
          {events.loading && !events.data && <Loading />}
          <ErrorNote error={events.error} retry={events.reload} />
          {events.data && (events.data.items.length ? (
            <ol class="timeline">
              {events.data.items.map((e, i) => (
                <li key={`${e.ts}-${i}`} class={`t-${e.kind}`}>
                  <time dateTime={e.ts} title={fullTime(e.ts)}>{when(e.ts)}</time> <strong>{humanize(e.kind)}</strong>
                  {e.rule && <span class="muted small"> · rule {e.rule}</span>}
                  {(e.message || e.reason) && <p>{e.message ?? humanize(e.reason)}</p>}
                </li>
              ))}
            </ol>
          ) : <p class="muted">Nothing unusual: rejected orders, risk pauses and expiries show up here.</p>)}
        </Card>
        <Card title="Quarantine history">
          {qconfig.data && bot.status !== "quarantined" && <p class="muted small">Risk pauses so far: {bot.pause_count} of {qconfig.data.max_pauses}.</p>}
          {qhistory.loading && !qhistory.data && <Loading />}
          <ErrorNote error={qhistory.error} retry={qhistory.reload} />
          {qhistory.data && <QuarantineTimeline events={qhistory.data.items} />}
        </Card>
      </div>

      <Card title="Training" actions={<>
        <a class="button secondary small" href={href(`/training?bot_id=${id}`)}>Choose the run's size</a>
        <StartTraining bot={bot} onStarted={(run) => runs.setData((old) => mergeRun(old, run))} />
      </>}>
        <ErrorNote error={runs.error} retry={runs.reload} />
        {runs.data && <RunList runs={runs.data.items} onApplied={(updated) => { upsertBot(updated); void fetched.reload(); }} showBot={false} />}
      </Card>

      {deleting && <DeleteBotDialog bot={bot} onClose={() => setDeleting(false)} onDeleted={() => navigate("/bots")} />}
    </>
  );
}

export function mergeRun(old: Page<TrainingRun> | undefined, run: TrainingRun): Page<TrainingRun> {
  const items = old?.items ?? [];
  const index = items.findIndex((r) => r.run_id === run.run_id);
  if (index < 0) return { next_cursor: old?.next_cursor ?? null, items: [run, ...items] };
  const next = items.slice();
  next[index] = { ...next[index], ...run };
  return { next_cursor: old?.next_cursor ?? null, items: next };
}
