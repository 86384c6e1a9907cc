// Training: start a run for a bot, watch its progress live (training events), compare in- and out-of-sample
// metrics of the best parameters, and apply them (training never changes a bot by itself).
import { useState } from "preact/hooks";
import { api, Bot, errorText, Page, TrainingRun } from "../api";
import { Card, ConfirmDialog, Empty, ErrorNote, Field, Loading, PageHeader, Progress } from "../components/ui";
import { fullTime, humanize, number, percent, when } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";
import { href } from "../router";
import { botName, bots, toast, upsertBot } from "../session";
import { useStore } from "../store";
import { mergeRun } from "./BotDetail";

/** How big a run may be (docs/api.md "Training"; the API checks the same bounds and its 422 names the field). */
export const TRAINING_LIMITS = { budget: { min: 1, max: 5000, default: 400 }, candles: { min: 500, max: 43_200, default: 4320 } };

export interface RunSize {
  budget?: number;
  candles?: number;
}

export function StartTraining({ bot, size, onStarted }: { bot: Bot; size?: RunSize; onStarted: (run: TrainingRun) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" class="secondary small" disabled={busy} onClick={async () => {
      setBusy(true);
      try {
        const run = await api<TrainingRun>("/api/training/start", { body: { bot_id: bot.id, ...size } });
        onStarted({ ...run, progress: run.progress ?? 0, best: run.best ?? null });
        toast("info", `Training started for ${bot.name}`);
      } catch (e) {
        toast("error", `Could not start training for ${bot.name}`, errorText(e));
      } finally {
        setBusy(false);
      }
    }}>
      {busy ? "Starting…" : "Start training"}
    </button>
  );
}

/** "fast 2, slow 3": a bot's or a run's parameters in one line. */
export function paramsText(params?: Record<string, unknown> | null): string {
  return Object.entries(params ?? {}).map(([k, v]) => `${k} ${v}`).join(", ") || "—";
}

// The backtester's metrics are fractions (docs/backtesting.md): shown as percentages; trades and Sharpe as numbers.
const FRACTIONS = new Set(["total_return", "win_rate", "max_drawdown", "exposure"]);

function metric(key: string, value: unknown): string {
  const numeric = typeof value === "number" || (typeof value === "string" && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(value));
  if (!numeric) return value === null || value === undefined ? "—" : String(value);
  return FRACTIONS.has(key) ? percent(Number(value) * 100) : number(value as string, 2);
}

function Metrics({ title, values }: { title: string; values?: Record<string, unknown> }) {
  if (!values || !Object.keys(values).length) return null;
  return (
    <div class="metrics-block" data-testid={`metrics-${title.toLowerCase().replace(/ /g, "-")}`}>
      <h4>{title}</h4>
      <dl class="kv">
        {Object.entries(values).map(([k, v]) => <div key={k}><dt>{humanize(k)}</dt><dd>{metric(k, v)}</dd></div>)}
      </dl>
    </div>
  );
}

export function RunList({ runs, onApplied, showBot = true }: { runs: TrainingRun[]; onApplied?: (bot: Bot) => void; showBot?: boolean }) {
  const [applying, setApplying] = useState<TrainingRun | null>(null);
  if (!runs.length) return <p class="muted">No training runs yet. A run backtests many parameter sets on recent candles and keeps the best one that also holds up out of sample.</p>;
  return (
    <>
      <ul class="runs">
        {runs.map((run) => {
          const active = run.status === "queued" || run.status === "running";
          const best = run.best;
          return (
            <li key={run.run_id} class="run card inset" data-testid="training-run" data-status={run.status}>
              <div class="run-head">
                <strong>{showBot ? <a href={href(`/bots/${run.bot_id}`)}>{botName(run.bot_id)}</a> : humanize(run.strategy ?? "Run")}</strong>
                <span class={`pill run-${run.status}`}>{humanize(run.status)}</span>
                <span class="muted small"><time dateTime={run.created_at} title={fullTime(run.created_at)}>{when(run.created_at)}</time></span>
              </div>
              {active && <Progress value={run.progress ?? 0} label={`Training progress for ${botName(run.bot_id)}`} />}
              {active && <p class="muted small">{Math.round((run.progress ?? 0) * 100)} %{run.chunks ? ` · ${run.chunks.done} of ${run.chunks.total} chunks` : ""}</p>}
              {run.error && <p class="error">{run.error}</p>}
              {best && (
                <div class="run-best">
                  <p>Best parameters: <code>{Object.entries(best.params ?? {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—"}</code>
                    {best.metrics?.validated !== undefined && <span class={`pill ${best.metrics.validated ? "running" : "paused"}`}>{best.metrics.validated ? "validated" : "not validated"}</span>}
                  </p>
                  <div class="grid-2">
                    <Metrics title="In sample" values={best.metrics?.in_sample as Record<string, unknown>} />
                    <Metrics title="Out of sample" values={best.metrics?.out_of_sample as Record<string, unknown>} />
                  </div>
                  {run.status === "succeeded" && onApplied && (
                    <button type="button" class="primary small" onClick={() => setApplying(run)}>Apply these parameters</button>
                  )}
                </div>
              )}
              {active && (
                <button type="button" class="secondary small" onClick={async () => {
                  try {
                    await api("/api/training/stop", { body: { run_id: run.run_id } });
                  } catch (e) {
                    toast("error", "Could not stop the run", errorText(e));
                  }
                }}>Stop run</button>
              )}
            </li>
          );
        })}
      </ul>
      {applying && (
        <ConfirmDialog title={`Apply to ${botName(applying.bot_id)}?`} confirmLabel="Apply parameters" onClose={() => setApplying(null)}
          onConfirm={async () => {
            const bot = await api<Bot>("/api/training/apply", { body: { run_id: applying.run_id } });
            toast("success", `${bot.name} now trades with the trained parameters`);
            onApplied?.(bot);
          }}>
          <p>The bot switches to <code>{Object.entries(applying.best?.params ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")}</code> from its next tick.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** A whole number typed into a field, or undefined (empty: the API's default). */
function whole(text: string): number | undefined {
  return text.trim() === "" ? undefined : Math.trunc(Number(text));
}

export function Training({ query }: { query: URLSearchParams }) {
  useTitle("Training");
  const { items } = useStore(bots);
  const [botId, setBotId] = useState(query.get("bot_id") ?? "");
  const [budget, setBudget] = useState("");
  const [candles, setCandles] = useState("");
  const runs = useAsync(() => api<Page<TrainingRun>>("/api/training/history?limit=50"), []);
  useLive("training", (run: TrainingRun) => runs.setData((old) => mergeRun(old, run)));
  useLive("resync", () => void runs.reload()); // a run that moved on while the socket was down
  const bot = items.find((b) => b.id === botId) ?? items[0];
  const { budget: b, candles: c } = TRAINING_LIMITS;
  return (
    <>
      <PageHeader title="Training" />
      <Card title="Start a run">
        {items.length === 0 ? <Empty title="Create a bot first"><a href={href("/bots/new")}>New bot</a></Empty> : (
          <>
            <div class="filters">
              <div class="field">
                <label for="train-bot">Bot</label>
                <select id="train-bot" value={bot?.id} onChange={(e) => setBotId(e.currentTarget.value)}>
                  {items.map((x) => <option key={x.id} value={x.id}>{x.name} · {x.symbol} · {humanize(x.strategy)}</option>)}
                </select>
              </div>
              <Field label="Parameter sets" hint={`${b.min} to ${number(b.max)}; empty: ${b.default}`}>
                {(id, hint) => <input id={id} type="number" inputMode="numeric" min={b.min} max={b.max} step={1} placeholder={String(b.default)}
                  value={budget} onInput={(e) => setBudget(e.currentTarget.value)} aria-describedby={hint} />}
              </Field>
              <Field label="Candles of history" hint={`one-minute candles, ${number(c.min)} to ${number(c.max)}; empty: ${number(c.default)}`}>
                {(id, hint) => <input id={id} type="number" inputMode="numeric" min={c.min} max={c.max} step={1} placeholder={String(c.default)}
                  value={candles} onInput={(e) => setCandles(e.currentTarget.value)} aria-describedby={hint} />}
              </Field>
              {bot && <StartTraining bot={bot} size={{ budget: whole(budget), candles: whole(candles) }}
                onStarted={(run) => runs.setData((old) => mergeRun(old, run))} />}
            </div>
            {bot && <p class="muted small" data-testid="current-params">{bot.name} trades with <code>{paramsText(bot.params)}</code> now.</p>}
          </>
        )}
      </Card>
      <Card title="Runs">
        {runs.loading && !runs.data && <Loading />}
        <ErrorNote error={runs.error} retry={runs.reload} />
        {runs.data && <RunList runs={runs.data.items} onApplied={upsertBot} />}
      </Card>
    </>
  );
}
