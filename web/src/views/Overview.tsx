// The overview: fleet status counts, equity and P&L per currency, alerts for trips and quarantines, recent
// trades, and the largest bot's equity curve. Live: bots and trades from the socket; the portfolio is read again
// after fills.
import { api, Portfolio } from "../api";
import { EquityChart } from "../components/charts";
import { Card, Empty, ErrorNote, Loading, PageHeader, StatusPill } from "../components/ui";
import { humanize, money, pnlClass, signedMoney } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";
import { href } from "../router";
import { bots, isTrip, recentTrades, session } from "../session";
import { useStore } from "../store";
import { TradeTable } from "./Trades";
import { useRef } from "preact/hooks";

const STATUSES = ["running", "paused", "quarantined", "stopped"] as const;

export function Overview() {
  useTitle("Overview");
  const { items, loaded } = useStore(bots);
  const trades = useStore(recentTrades);
  const { user } = useStore(session);
  const portfolio = useAsync(() => api<Portfolio>("/api/portfolio"), []);
  const timer = useRef<number | undefined>(undefined);
  useLive("trade", () => {
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void portfolio.reload(), 1500);
  });
  useLive("bot_status", () => void portfolio.reload());
  useLive("resync", () => void portfolio.reload());

  const counts = Object.fromEntries(STATUSES.map((s) => [s, items.filter((b) => b.status === s).length]));
  const alerts = items.filter((b) => b.status === "quarantined" || isTrip(b));
  const biggest = portfolio.data?.bots.slice().sort((a, b) => Number(b.equity) - Number(a.equity))[0];

  return (
    <>
      <PageHeader title={`Hello, ${user?.name ?? "trader"}`}>
        <a class="button primary" href={href("/bots/new")}>New bot</a>
      </PageHeader>

      <section aria-labelledby="fleet-h" class="stack">
        <h2 id="fleet-h" class="section-title">Fleet</h2>
        <ul class="stat-grid" role="list">
          {STATUSES.map((status) => (
            <li class={`stat ${status}`} key={status}>
              <a href={href(`/bots?status=${status}`)}>
                <span class="stat-value" data-testid={`count-${status}`}>{loaded ? counts[status] : "…"}</span>
                <span class="stat-label">{humanize(status)}</span>
              </a>
            </li>
          ))}
        </ul>
      </section>

      {alerts.length > 0 && (
        <section aria-labelledby="alerts-h" class="card alerts">
          <h2 id="alerts-h">Needs attention</h2>
          <ul class="alert-list">
            {alerts.map((bot) => (
              <li key={bot.id} class={bot.status === "quarantined" ? "alert-quarantine" : "alert-trip"}>
                <StatusPill status={bot.status} />
                <a href={href(`/bots/${bot.id}`)}>{bot.name}</a>
                <span>
                  {bot.status === "quarantined"
                    ? `quarantined after risk pause ${bot.pause_count}${bot.pause_reason ? ` (${humanize(bot.pause_reason)})` : ""}`
                    : `circuit breaker tripped: ${humanize(bot.pause_reason)}`}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="money-h" class="stack">
        <h2 id="money-h" class="section-title">Equity and P&amp;L</h2>
        {portfolio.loading && !portfolio.data && <Loading />}
        <ErrorNote error={portfolio.error} retry={portfolio.reload} />
        {portfolio.data && portfolio.data.totals.length === 0 && (
          <Empty title="No money at work yet">
            <p>Create a paper bot to start trading with simulated capital.</p>
          </Empty>
        )}
        <div class="money-grid">
          {portfolio.data?.totals.map((total) => (
            <article class="card money" key={total.currency} aria-label={`${total.currency} totals`}>
              <h3>{total.currency}</h3>
              <dl>
                <div><dt>Equity</dt><dd class="big">{money(total.equity, total.currency)}</dd></div>
                <div><dt>Total P&amp;L</dt><dd class={pnlClass(total.total_pnl)}>{signedMoney(total.total_pnl, total.currency)}</dd></div>
                <div><dt>Realized</dt><dd class={pnlClass(total.realized_pnl)}>{signedMoney(total.realized_pnl, total.currency)}</dd></div>
                <div><dt>Unrealized</dt><dd class={pnlClass(total.unrealized_pnl)}>{signedMoney(total.unrealized_pnl, total.currency)}</dd></div>
                <div><dt>Fees paid</dt><dd>{money(total.fees_paid, total.currency)}</dd></div>
                <div><dt>Net deposits</dt><dd>{money(total.net_injections, total.currency)}</dd></div>
              </dl>
            </article>
          ))}
        </div>
      </section>

      {biggest && (
        <Card title={`Equity: ${biggest.name}`} actions={<a href={href(`/bots/${biggest.bot_id}`)}>Open bot</a>}>
          <EquityChart botId={biggest.bot_id} currency={biggest.currency} liveKey={trades[0]?.id} />
        </Card>
      )}

      <Card title="Recent trades" actions={<a href={href("/trades")}>All trades</a>}>
        {loaded && items.length === 0 ? (
          <Empty title="No bots yet">
            <p>Bots trade on their own once created. <a href={href("/bots/new")}>Create your first bot</a>.</p>
          </Empty>
        ) : (
          <TradeTable trades={trades.slice(0, 10)} empty="No fills yet: trades appear here the moment a bot fills an order." />
        )}
      </Card>
    </>
  );
}
