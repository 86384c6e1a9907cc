// Every quarantined bot with its countdown, progress and ladder, and the history of pauses, retrains,
// redeploys and regenerations. Live from quarantine and bot_status events.
import { useEffect } from "preact/hooks";
import { api, Page, QuarantineEvent } from "../api";
import { Ladder, loadQuarantine, QuarantineCard, QuarantineTimeline, useQuarantineConfig } from "../components/quarantine";
import { Card, Empty, ErrorNote, Loading, PageHeader } from "../components/ui";
import { ladderLabel } from "../format";
import { useAsync, useLive, useTitle } from "../hooks";

export function Quarantine() {
  useTitle("Quarantine");
  const status = useAsync(loadQuarantine, []);
  const history = useAsync(() => api<Page<QuarantineEvent>>("/api/quarantine/history?limit=100"), []);
  const config = useQuarantineConfig();
  useLive("quarantine", (event: QuarantineEvent) => {
    history.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: [event, ...(old?.items ?? [])] }));
    void status.reload();
  });
  useLive("bot_status", () => void status.reload());
  useLive("resync", () => {
    void status.reload();
    void history.reload();
  });
  useEffect(() => {
    const timer = setInterval(() => void status.reload(), 15_000);
    return () => clearInterval(timer);
  }, []);

  return (
    <>
      <PageHeader title="Quarantine" />
      {config.data && (
        <p class="lead">
          A bot that trips a circuit breaker leaves the market for{" "}
          {config.data.durations_seconds.map(ladderLabel).join(", then ")}, is retrained on recent data and redeployed;
          on risk pause {config.data.max_pauses} it is deleted and a new generation takes its place.
        </p>
      )}
      {config.data && <Ladder config={config.data} pauseCount={0} />}
      <section aria-labelledby="q-now" class="stack">
        <h2 id="q-now" class="section-title">In quarantine now</h2>
        {status.loading && !status.data && <Loading />}
        <ErrorNote error={status.error} retry={status.reload} />
        {status.data && status.data.rows.length === 0 && <Empty title="No bot is quarantined">All your bots are in the market, or paused by you.</Empty>}
        <div class="quarantine-grid">
          {status.data?.rows.map((row) => <QuarantineCard key={row.bot_id} row={row} fetchedAt={status.data!.at} config={config.data} />)}
        </div>
      </section>
      <Card title="History">
        <ErrorNote error={history.error} retry={history.reload} />
        {history.data && <QuarantineTimeline events={history.data.items} />}
      </Card>
    </>
  );
}
