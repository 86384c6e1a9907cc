// Trades: filters (exchange, bot, symbol, since), the per-exchange summary with drill-down, paging, CSV export.
// New fills that match the filters arrive live at the top.
import { useMemo, useState } from "preact/hooks";
import { api, Page, Trade } from "../api";
import { Card, Empty, ErrorNote, Loading, PageHeader } from "../components/ui";
import { baseCurrency, fullTime, money, number, pnlClass, price, quoteCurrency, signedMoney, when } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";
import { href, navigate } from "../router";
import { botName, bots, config } from "../session";
import { useStore } from "../store";

interface Filters {
  exchange: string;
  bot_id: string;
  symbol: string;
  since: string; // ISO
}

function filtersFrom(query: URLSearchParams): Filters {
  return { exchange: query.get("exchange") ?? "", bot_id: query.get("bot_id") ?? "", symbol: query.get("symbol") ?? "", since: query.get("since") ?? "" };
}

function queryString(filters: Filters): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  return params.toString();
}

function matches(trade: Trade, f: Filters): boolean {
  return (!f.exchange || trade.exchange === f.exchange) && (!f.bot_id || trade.bot_id === f.bot_id)
    && (!f.symbol || trade.symbol === f.symbol) && (!f.since || trade.ts >= f.since);
}

export function Trades({ query }: { query: URLSearchParams }) {
  useTitle("Trades");
  const filters = filtersFrom(query);
  const key = queryString(filters);
  const cfg = useStore(config);
  const { items: botList } = useStore(bots);
  const [extra, setExtra] = useState<{ items: Trade[]; cursor: string | null } | null>(null);
  const list = useAsync(async () => {
    setExtra(null);
    return api<Page<Trade>>(`/api/trades?limit=100${key ? `&${key}` : ""}`);
  }, [key]);
  const summary = useAsync(() => api<{ items: { exchange: string; quote_currency: string; trades: number; volume: string; fees: string; realized_pnl: string }[] }>("/api/trades/summary"), []);

  useLive("trade", (trade: Trade) => {
    if (matches(trade, filters)) list.setData((old) => old && !old.items.some((t) => t.id === trade.id) ? { ...old, items: [trade, ...old.items] } : old!);
    void summary.reload();
  });
  useLive("resync", () => {
    void list.reload();
    void summary.reload();
  });

  const trades = useMemo(() => [...(list.data?.items ?? []), ...(extra?.items ?? [])], [list.data, extra]);
  const cursor = extra ? extra.cursor : list.data?.next_cursor ?? null;
  const symbols = useMemo(() => {
    const all = new Set<string>();
    const markets = cfg?.markets ?? {};
    for (const [ex, m] of Object.entries(markets)) if (!filters.exchange || ex === filters.exchange) m.symbols.forEach((s) => all.add(s));
    return [...all].sort();
  }, [cfg, filters.exchange]);

  function set(change: Partial<Filters>) {
    const next = queryString({ ...filters, ...change });
    navigate(`/trades${next ? `?${next}` : ""}`);
  }

  async function more() {
    if (!cursor) return;
    const page = await api<Page<Trade>>(`/api/trades?limit=100&cursor=${encodeURIComponent(cursor)}${key ? `&${key}` : ""}`);
    setExtra({ items: [...(extra?.items ?? []), ...page.items], cursor: page.next_cursor });
  }

  const sinceLocal = filters.since ? toLocalInput(filters.since) : "";

  return (
    <>
      <PageHeader title="Trades">
        <button type="button" class="secondary" disabled={!trades.length} onClick={() => downloadCsv(trades)}>
          Export CSV
        </button>
      </PageHeader>

      <Card title="By exchange">
        <ErrorNote error={summary.error} retry={summary.reload} />
        {summary.data && summary.data.items.length === 0 && <p class="muted">No fills yet.</p>}
        {summary.data && summary.data.items.length > 0 && (
          <div class="table-wrap">
            <table class="responsive">
              <caption class="visually-hidden">Trades per exchange; choose an exchange to filter the list below</caption>
              <thead><tr><th scope="col">Exchange</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Fees</th><th scope="col" class="num">Realized P&amp;L</th></tr></thead>
              <tbody>
                {summary.data.items.map((row) => (
                  <tr key={`${row.exchange}-${row.quote_currency}`} class={filters.exchange === row.exchange ? "selected" : ""}>
                    <th scope="row" data-label="Exchange">
                      <button type="button" class="link" onClick={() => set({ exchange: filters.exchange === row.exchange ? "" : row.exchange, symbol: "" })}
                        aria-pressed={filters.exchange === row.exchange}>
                        {cfg?.markets?.[row.exchange]?.name ?? row.exchange} · {row.quote_currency}
                      </button>
                    </th>
                    <td class="num" data-label="Trades">{row.trades}</td>
                    <td class="num" data-label="Volume">{money(row.volume, row.quote_currency)}</td>
                    <td class="num" data-label="Fees">{money(row.fees, row.quote_currency)}</td>
                    <td class={`num ${pnlClass(row.realized_pnl)}`} data-label="Realized P&L">{signedMoney(row.realized_pnl, row.quote_currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      <Card title="Fills">
        <form class="filters" role="search" aria-label="Filter trades" onSubmit={(e) => e.preventDefault()}>
          <div class="field">
            <label for="f-exchange">Exchange</label>
            <select id="f-exchange" value={filters.exchange} onChange={(e) => set({ exchange: e.currentTarget.value, symbol: "" })}>
              <option value="">All exchanges</option>
              {(cfg?.exchanges ?? []).map((ex) => <option key={ex} value={ex}>{cfg?.markets?.[ex]?.name ?? ex}</option>)}
            </select>
          </div>
          <div class="field">
            <label for="f-bot">Bot</label>
            <select id="f-bot" value={filters.bot_id} onChange={(e) => set({ bot_id: e.currentTarget.value })}>
              <option value="">All bots</option>
              {botList.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
            </select>
          </div>
          <div class="field">
            <label for="f-symbol">Symbol</label>
            <select id="f-symbol" value={filters.symbol} onChange={(e) => set({ symbol: e.currentTarget.value })}>
              <option value="">All symbols</option>
              {symbols.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
          <div class="field">
            <label for="f-since">Since</label>
            <input id="f-since" type="datetime-local" value={sinceLocal}
              onChange={(e) => set({ since: e.currentTarget.value ? new Date(e.currentTarget.value).toISOString() : "" })} />
          </div>
          {key && <button type="button" class="secondary" onClick={() => navigate("/trades")}>Clear filters</button>}
        </form>
        {list.loading && !list.data && <Loading />}
        <ErrorNote error={list.error} retry={list.reload} />
        {list.data && <TradeTable trades={trades} showBot empty={key ? "No fills match these filters." : "No fills yet: they appear here live as your bots trade."} />}
        {cursor && <button type="button" class="secondary" onClick={() => void more()}>Load more</button>}
        <p class="muted small">{trades.length} fill{trades.length === 1 ? "" : "s"} shown · times in your zone ({Intl.DateTimeFormat().resolvedOptions().timeZone})</p>
      </Card>
    </>
  );
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function TradeTable({ trades, showBot = true, empty }: { trades: Trade[]; showBot?: boolean; empty: string }) {
  if (!trades.length) return <Empty title={empty} />;
  return (
    <div class="table-wrap">
      <table class="responsive trades" data-testid="trades-table">
        <thead>
          <tr>
            <th scope="col">Time</th>
            {showBot && <th scope="col">Bot</th>}
            <th scope="col">Side</th>
            <th scope="col">Market</th>
            <th scope="col" class="num">Amount</th>
            <th scope="col" class="num">Price</th>
            <th scope="col" class="num">Cost</th>
            <th scope="col" class="num">Fee</th>
            <th scope="col" class="num">P&amp;L</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((t) => (
            <tr key={t.id} data-trade-id={t.id}>
              <td data-label="Time"><time dateTime={t.ts} title={fullTime(t.ts)}>{when(t.ts)}</time></td>
              {showBot && <td data-label="Bot"><a href={href(`/bots/${t.bot_id}`)}>{botName(t.bot_id)}</a></td>}
              <td data-label="Side"><span class={`side ${t.side}`}>{t.side === "buy" ? "Buy" : "Sell"}</span></td>
              <td data-label="Market"><span>{t.symbol} <span class="muted small">{t.exchange}{t.mode === "live" ? " · live" : ""}</span></span></td>
              <td class="num" data-label="Amount">{number(t.amount)} {baseCurrency(t.symbol)}</td>
              <td class="num" data-label="Price">{price(t.price, quoteCurrency(t.symbol))}</td>
              <td class="num" data-label="Cost">{money(t.cost, quoteCurrency(t.symbol))}</td>
              <td class="num" data-label="Fee">{number(t.fee)} {t.fee_currency}</td>
              <td class={`num ${pnlClass(t.realized_pnl)}`} data-label="P&L">{t.side === "sell" ? signedMoney(t.realized_pnl, quoteCurrency(t.symbol)) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const CSV_FIELDS: (keyof Trade)[] = ["ts", "id", "bot_id", "exchange", "symbol", "side", "price", "amount", "cost", "fee", "fee_currency", "slippage_bps", "order_type", "realized_pnl", "mode"];

export function tradesCsv(trades: Trade[]): string {
  const cell = (value: unknown) => {
    const text = value === null || value === undefined ? "" : String(value);
    // Keep spreadsheet formulas from running: a cell starting with =, +, -, @, tab or carriage return is one unless
    // the whole cell is a number (a negative P&L stays a number; "-2+3+cmd|..." does not).
    const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const rows = trades.map((t) => [...CSV_FIELDS.map((f) => cell(t[f])), cell(botName(t.bot_id))].join(","));
  return [[...CSV_FIELDS, "bot_name"].join(","), ...rows].join("\n") + "\n";
}

function downloadCsv(trades: Trade[]): void {
  const blob = new Blob([tradesCsv(trades)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `botfleet-trades-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
