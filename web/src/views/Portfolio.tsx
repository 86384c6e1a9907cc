// Portfolio and capital: per bot and per currency totals, and deposits/withdrawals with an Idempotency-Key (a
// retried submit of the same form never moves money twice).
import { useState } from "preact/hooks";
import { api, errorText, Injection, newIdempotencyKey, Page, Portfolio as PortfolioData } from "../api";
import { Card, Empty, ErrorNote, Loading, PageHeader, StatusPill } from "../components/ui";
import { money, percent, pnlClass, signedMoney, when, fullTime } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";
import { href } from "../router";
import { botName, bots, refreshBots, toast } from "../session";
import { useStore } from "../store";

export function Portfolio() {
  useTitle("Portfolio");
  const data = useAsync(() => api<PortfolioData>("/api/portfolio"), []);
  const injections = useAsync(() => api<Page<Injection>>("/api/capital/injections?limit=50"), []);
  const { items } = useStore(bots);
  const [botId, setBotId] = useState("");
  const [kind, setKind] = useState<"deposit" | "withdrawal">("deposit");
  const [amount, setAmount] = useState("");
  const [key, setKey] = useState(newIdempotencyKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useLive("trade", () => void data.reload());
  useLive("resync", () => {
    void data.reload();
    void injections.reload();
  });
  const target = items.find((b) => b.id === botId) ?? items[0];

  async function submit(event: Event) {
    event.preventDefault();
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await api("/api/capital/injections", { body: { bot_id: target.id, amount, kind }, headers: { "Idempotency-Key": key } });
      toast("success", `${kind === "deposit" ? "Deposited" : "Withdrew"} ${money(amount, target.quote_currency)}`, target.name);
      setAmount("");
      setKey(newIdempotencyKey());
      void data.reload();
      void injections.reload();
      void refreshBots();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader title="Portfolio" />
      {data.loading && !data.data && <Loading />}
      <ErrorNote error={data.error} retry={data.reload} />
      {data.data && data.data.totals.length === 0 && <Empty title="Nothing allocated yet"><a href={href("/bots/new")}>Create a bot</a> to allocate capital.</Empty>}
      {data.data && data.data.totals.length > 0 && (
        <Card title="Totals per currency">
          <div class="table-wrap">
            <table class="responsive">
              <thead><tr><th scope="col">Currency</th><th scope="col" class="num">Equity</th><th scope="col" class="num">Cash</th><th scope="col" class="num">Realized</th><th scope="col" class="num">Unrealized</th><th scope="col" class="num">Total P&amp;L</th><th scope="col" class="num">Net deposits</th><th scope="col" class="num">Fees</th></tr></thead>
              <tbody>
                {data.data.totals.map((t) => (
                  <tr key={t.currency}>
                    <th scope="row" data-label="Currency">{t.currency}</th>
                    <td class="num" data-label="Equity">{money(t.equity, t.currency)}</td>
                    <td class="num" data-label="Cash">{money(t.cash, t.currency)}</td>
                    <td class={`num ${pnlClass(t.realized_pnl)}`} data-label="Realized">{signedMoney(t.realized_pnl, t.currency)}</td>
                    <td class={`num ${pnlClass(t.unrealized_pnl)}`} data-label="Unrealized">{signedMoney(t.unrealized_pnl, t.currency)}</td>
                    <td class={`num ${pnlClass(t.total_pnl)}`} data-label="Total P&L">{signedMoney(t.total_pnl, t.currency)}</td>
                    <td class="num" data-label="Net deposits">{money(t.net_injections, t.currency)}</td>
                    <td class="num" data-label="Fees">{money(t.fees_paid, t.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      {data.data && data.data.bots.length > 0 && (
        <Card title="Per bot">
          <div class="table-wrap">
            <table class="responsive">
              <thead><tr><th scope="col">Bot</th><th scope="col">Status</th><th scope="col" class="num">Equity</th><th scope="col" class="num">Total P&amp;L</th><th scope="col" class="num">Return</th><th scope="col" class="num">Drawdown</th></tr></thead>
              <tbody>
                {data.data.bots.map((b) => (
                  <tr key={b.bot_id}>
                    <th scope="row" data-label="Bot"><span><a href={href(`/bots/${b.bot_id}`)}>{b.name}</a> <span class="muted small">{b.symbol} · {b.exchange}</span></span></th>
                    <td data-label="Status"><StatusPill status={b.status} /></td>
                    <td class="num" data-label="Equity">{money(b.equity, b.currency)}</td>
                    <td class={`num ${pnlClass(b.total_pnl)}`} data-label="Total P&L">{signedMoney(b.total_pnl, b.currency)}</td>
                    <td class={`num ${pnlClass(b.return_pct)}`} data-label="Return">{percent(b.return_pct)}</td>
                    <td class="num" data-label="Drawdown">{percent(b.drawdown_pct)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      <div class="grid-2">
        <Card title="Deposit or withdraw">
          {items.length === 0 ? <p class="muted">Create a bot first.</p> : (
            <form onSubmit={submit}>
              <div class="field">
                <label for="cap-bot">Bot</label>
                <select id="cap-bot" value={target?.id} onChange={(e) => setBotId(e.currentTarget.value)}>
                  {items.map((b) => <option key={b.id} value={b.id}>{b.name} ({b.quote_currency ?? b.symbol})</option>)}
                </select>
              </div>
              <fieldset class="field">
                <legend>Direction</legend>
                <div class="radios">
                  <label><input type="radio" name="kind" checked={kind === "deposit"} onChange={() => setKind("deposit")} /> Deposit</label>
                  <label><input type="radio" name="kind" checked={kind === "withdrawal"} onChange={() => setKind("withdrawal")} /> Withdraw</label>
                </div>
              </fieldset>
              <div class="field">
                <label for="cap-amount">Amount ({target?.quote_currency})</label>
                <input id="cap-amount" inputMode="decimal" required pattern="[0-9]+(\.[0-9]+)?" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} aria-describedby="cap-hint" />
                <small id="cap-hint" class="hint">Deposits and withdrawals never count as profit or loss. Free cash now: {money(target?.cash, target?.quote_currency)}</small>
              </div>
              {error && <p class="error" role="alert">{error}</p>}
              <button type="submit" class="primary" disabled={busy}>{busy ? "Working…" : kind === "deposit" ? "Deposit" : "Withdraw"}</button>
            </form>
          )}
        </Card>
        <Card title="Capital movements">
          <ErrorNote error={injections.error} retry={injections.reload} />
          {injections.data && (injections.data.items.length === 0 ? <p class="muted">No deposits or withdrawals yet.</p> : (
            <ul class="plain-list">
              {injections.data.items.map((i, n) => {
                const bot = items.find((b) => b.id === i.bot_id);
                const ts = i.ts ?? i.created_at;
                return (
                  <li key={i.id ?? n}>
                    <span class={i.kind === "deposit" ? "up" : "down"}>{i.kind === "deposit" ? "+" : "−"}{money(i.amount, bot?.quote_currency)}</span>{" "}
                    {botName(i.bot_id)} <span class="muted small"><time dateTime={ts} title={fullTime(ts)}>{when(ts)}</time></span>
                  </li>
                );
              })}
            </ul>
          ))}
        </Card>
      </div>
    </>
  );
}
