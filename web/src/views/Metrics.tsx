// Metrics: GET /api/metrics as JSON, shown as cards, with sparklines of what changed while the page is open
// (read every 10 s); the Prometheus text exposition on demand.
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { Card, ErrorNote, Loading, PageHeader, Sparkline } from "../components/ui";
import { humanize, money, number } from "../format";
import { useTitle } from "../hooks";

type Snapshot = Record<string, unknown> & { scope?: string; bots_by_status?: Record<string, number>; paused_by_reason?: Record<string, number>; trades?: { exchange: string; currency: string; trades: number; volume: string; fees: string; realized_pnl: string }[] };

export function Metrics() {
  useTitle("Metrics");
  const [history, setHistory] = useState<Snapshot[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [prom, setProm] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const read = async () => {
      try {
        const snap = await api<Snapshot>("/api/metrics");
        if (!stopped) {
          setHistory((h) => [...h.slice(-59), snap]);
          setError(null);
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void read();
    const timer = setInterval(read, 10_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  const latest = history[history.length - 1];
  const series = (pick: (s: Snapshot) => number) => history.map(pick);
  const scalars = latest ? Object.entries(latest).filter(([, v]) => typeof v === "number") as [string, number][] : [];

  return (
    <>
      <PageHeader title="Metrics">
        <button type="button" class="secondary" onClick={async () => {
          try {
            setProm(await api<string>("/api/metrics", { accept: "text/plain" }));
          } catch (e) {
            setProm(`Could not read the Prometheus text: ${errorText(e)}`);
          }
        }}>Show Prometheus text</button>
      </PageHeader>
      <ErrorNote error={error} />
      {!latest && !error && <Loading />}
      {latest && (
        <>
          <p class="lead">Scope: {latest.scope === "fleet" ? "the whole fleet (admin)" : "your bots"}. Sparklines cover the time this page has been open.{latest.scope === "fleet" && typeof latest.bots_as_of === "string" && ` The fleet's bot figures are read at most once a minute; these at ${new Date(latest.bots_as_of).toLocaleTimeString()}.`}</p>
          <ul class="stat-grid" role="list">
            {Object.entries(latest.bots_by_status ?? {}).map(([status, count]) => (
              <li class={`stat ${status}`} key={status}>
                <span class="stat-value">{count}</span><span class="stat-label">{humanize(status)} bots</span>
                <Sparkline values={series((s) => s.bots_by_status?.[status] ?? 0)} label={`${status} bots over time`} />
              </li>
            ))}
            {scalars.map(([name, value]) => (
              <li class="stat" key={name}>
                <span class="stat-value">{number(value, 2)}</span><span class="stat-label">{humanize(name)}</span>
                <Sparkline values={series((s) => Number(s[name] ?? 0))} label={`${humanize(name)} over time`} />
              </li>
            ))}
          </ul>
          {latest.trades && latest.trades.length > 0 && (
            <Card title="Trading per exchange">
              <div class="table-wrap">
                <table class="responsive">
                  <thead><tr><th scope="col">Exchange</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Fees</th><th scope="col">Trend</th></tr></thead>
                  <tbody>
                    {latest.trades.map((t) => (
                      <tr key={`${t.exchange}-${t.currency}`}>
                        <th scope="row" data-label="Exchange">{t.exchange} · {t.currency}</th>
                        <td class="num" data-label="Trades">{t.trades}</td>
                        <td class="num" data-label="Volume">{money(t.volume, t.currency)}</td>
                        <td class="num" data-label="Fees">{money(t.fees, t.currency)}</td>
                        <td data-label="Trend"><Sparkline values={series((s) => s.trades?.find((x) => x.exchange === t.exchange && x.currency === t.currency)?.trades ?? 0)} label={`${t.exchange} trades over time`} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          )}
          {latest.paused_by_reason && Object.keys(latest.paused_by_reason).length > 0 && (
            <Card title="Paused, by reason">
              <dl class="kv">{Object.entries(latest.paused_by_reason).map(([r, n]) => <div key={r}><dt>{humanize(r)}</dt><dd>{n}</dd></div>)}</dl>
            </Card>
          )}
        </>
      )}
      {prom !== null && (
        <Card title="Prometheus exposition" actions={<button type="button" class="secondary small" onClick={() => setProm(null)}>Hide</button>}>
          <pre class="prom" tabIndex={0} aria-label="Prometheus text">{prom}</pre>
        </Card>
      )}
    </>
  );
}
