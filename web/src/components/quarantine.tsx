// The quarantine card: where the bot is on the 1h / 3h / 24h ladder, a live countdown and a progress bar.
// The API reports the remaining time when asked (in the local cloud's scaled seconds); between reads the card
// counts down on its own, and reads again every 15 s and on every quarantine event.
import { api, QuarantineConfig, QuarantineEvent, QuarantineRow } from "../api";
import { duration, humanize, ladderLabel, when, fullTime } from "../format";
import { useAsync, useNow } from "../hooks";
import { Progress } from "./ui";

let configCache: Promise<QuarantineConfig> | null = null;
export function quarantineConfig(): Promise<QuarantineConfig> {
  return (configCache ??= api<QuarantineConfig>("/api/quarantine/config").catch((e) => {
    configCache = null;
    throw e;
  }));
}

export function useQuarantineConfig() {
  return useAsync(quarantineConfig, []);
}

export function QuarantineCard({ row, fetchedAt, config, headingLevel = 3 }: { row: QuarantineRow; fetchedAt: number; config?: QuarantineConfig; headingLevel?: 2 | 3 }) {
  const now = useNow(1000);
  const elapsed = (now - fetchedAt) / 1000;
  const remaining = Math.max(0, row.seconds_remaining - elapsed);
  // The total wait, from what the API said: remaining = total · (1 − progress).
  const total = row.progress !== null && row.progress < 1 ? row.seconds_remaining / (1 - row.progress) : 0;
  const progress = total > 0 ? Math.min(1, 1 - remaining / total) : row.progress ?? 0;
  const Heading = (headingLevel === 2 ? "h2" : "h3") as "h3";
  const waiting = row.stage === "waiting" || (row.stage === null && remaining > 0);
  return (
    <article class="card quarantine-card" data-testid="quarantine-card" aria-labelledby={`q-${row.bot_id}`}>
      <div class="card-head">
        <Heading id={`q-${row.bot_id}`}>Quarantine · {row.name}</Heading>
        <span class="pill quarantined">{humanize(row.stage ?? "waiting")}</span>
      </div>
      <p>
        Risk pause <strong>{row.pause_count}</strong>{config ? ` of ${config.max_pauses}` : ""}
        {row.reason ? <> · {humanize(row.reason)}</> : null}
        {row.quarantined_at && <> · since <time dateTime={row.quarantined_at} title={fullTime(row.quarantined_at)}>{when(row.quarantined_at)}</time></>}
      </p>
      {waiting ? (
        <>
          <p class="countdown" data-testid="countdown">
            <span class="muted">Back in the market in </span>
            <strong aria-live="off">{duration(remaining)}</strong>
            <span class="visually-hidden"> (retraining follows the wait)</span>
          </p>
          <Progress value={progress} label={`Quarantine wait for ${row.name}`} />
        </>
      ) : (
        <p class="countdown">{row.stage === "retraining" ? "Retraining on recent market data…" : humanize(row.stage) || "Working…"}</p>
      )}
      {config && <Ladder config={config} pauseCount={row.pause_count} />}
    </article>
  );
}

export function Ladder({ config, pauseCount }: { config: QuarantineConfig; pauseCount: number }) {
  const steps = [...config.durations_seconds.map((s, i) => ({ n: i + 1, label: ladderLabel(s), what: "quarantine + retrain" })),
    { n: config.max_pauses, label: "new bot", what: "deleted and regenerated" }];
  return (
    <ol class="ladder" aria-label="Quarantine ladder">
      {steps.map((step) => {
        const state = step.n < pauseCount ? "done" : step.n === pauseCount ? "current" : "next";
        return (
          <li key={step.n} class={state} aria-current={state === "current" ? "step" : undefined}>
            <span class="ladder-n">Pause {step.n}</span>
            <span class="ladder-label">{step.label}</span>
            <span class="visually-hidden">: {step.what}{state === "current" ? " (now)" : state === "done" ? " (passed)" : ""}</span>
          </li>
        );
      })}
    </ol>
  );
}

export function QuarantineTimeline({ events }: { events: QuarantineEvent[] }) {
  if (!events.length) return <p class="muted">No pauses, retrains or redeploys so far.</p>;
  return (
    <ol class="timeline">
      {events.map((e, i) => (
        <li key={`${e.ts}-${i}`} class={`t-${e.kind}`}>
          <time dateTime={e.ts} title={fullTime(e.ts)}>{when(e.ts)}</time>
          <strong>{humanize(e.kind)}</strong>
          {e.pause_number ? <span class="muted small"> · pause {e.pause_number}</span> : null}
          {e.message && <p>{e.message}</p>}
        </li>
      ))}
    </ol>
  );
}

export async function loadQuarantine(): Promise<{ rows: QuarantineRow[]; at: number }> {
  const reply = await api<{ items: QuarantineRow[] }>("/api/quarantine/status");
  return { rows: reply.items, at: Date.now() };
}
