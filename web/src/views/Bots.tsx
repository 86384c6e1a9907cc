// Bots: the fleet (live from bot_status events), filter by status, start/pause/resume/stop, delete with a
// confirmation. Rows are keyed and memoized, so a busy fleet re-renders only the bots that changed; a fleet of
// WINDOW_FROM bots or more renders only the rows near the viewport (docs/dashboard.md, "Performance").
import { useRef, useState } from "preact/hooks";
import { api, Bot } from "../api";
import { ConfirmDialog, Empty, ErrorNote, Loading, PageHeader, StatusPill } from "../components/ui";
import { humanize, money, number, baseCurrency } from "../format";
import { memo, useRowWindow, useTitle } from "../hooks";
import { href, navigate, useRoute } from "../router";
import { bots, refreshBots, removeBot, toast, upsertBot } from "../session";
import { useStore } from "../store";

export type Lifecycle = "start" | "pause" | "resume" | "stop";

/** What the owner may do now. A bot an admin paused or stopped is held: only an admin puts it back (403 admin_hold). */
export function actionsFor(bot: Pick<Bot, "status" | "pause_reason">): Lifecycle[] {
  const held = bot.pause_reason === "admin";
  switch (bot.status) {
    case "running": return ["pause", "stop"];
    case "paused": return held ? ["stop"] : ["resume", "stop"];
    case "quarantined": return ["stop"];
    case "stopped": return held ? [] : ["start"];
    default: return [];
  }
}

export async function runLifecycle(bot: Bot, action: Lifecycle): Promise<void> {
  try {
    const updated = await api<Bot>(`/api/bots/${encodeURIComponent(bot.id)}/${action}`, { method: "POST" });
    upsertBot(updated);
    toast("info", `${bot.name}: ${humanize(updated.status)}`);
  } catch (error) {
    toast("error", `Could not ${action} ${bot.name}`, (error as Error).message);
  }
}

export function LifecycleButtons({ bot, onDelete }: { bot: Bot; onDelete?: () => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <div class="row-actions" role="group" aria-label={`Actions for ${bot.name}`}>
      {bot.pause_reason === "admin" && bot.status !== "running" && <span class="muted small">Held by an admin</span>}
      {actionsFor(bot).map((action) => (
        <button key={action} type="button" class={`small ${action === "stop" ? "secondary" : "secondary"}`} disabled={busy}
          aria-label={`${humanize(action)} ${bot.name}`}
          onClick={async () => {
            setBusy(true);
            await runLifecycle(bot, action);
            setBusy(false);
          }}>
          {humanize(action)}
        </button>
      ))}
      {onDelete && (
        <button type="button" class="small danger-outline" aria-label={`Delete ${bot.name}`} onClick={onDelete}>
          Delete
        </button>
      )}
    </div>
  );
}

export function DeleteBotDialog({ bot, onClose, onDeleted }: { bot: Bot; onClose: () => void; onDeleted?: () => void }) {
  return (
    <ConfirmDialog title={`Delete ${bot.name}?`} confirmLabel="Delete bot" danger onClose={onClose}
      onConfirm={async () => {
        await api(`/api/bots/${encodeURIComponent(bot.id)}`, { method: "DELETE" });
        removeBot(bot.id);
        toast("info", `${bot.name} was deleted`);
        onDeleted?.();
      }}>
      <p>
        The bot is stopped and removed with its trades and events. {Number(bot.position ?? 0) > 0 &&
          <strong>It holds {number(bot.position)} {baseCurrency(bot.symbol)}; in paper mode that position is simply dropped.</strong>}
      </p>
      <p>This cannot be undone.</p>
    </ConfirmDialog>
  );
}

/** From this many bots (after filters) on, the table renders only the rows near the viewport. */
export const WINDOW_FROM = 100;

const BotRow = memo(function BotRow({ bot, onDelete, rowIndex }: { bot: Bot; onDelete: (bot: Bot) => void; rowIndex?: number }) {
  return (
    <tr data-bot-id={bot.id} data-row aria-rowindex={rowIndex}>
      <th scope="row" data-label="Bot">
        <span>
          <a href={href(`/bots/${bot.id}`)}>{bot.name}</a>
          {bot.generation > 1 && <span class="muted small"> · gen {bot.generation}</span>}
        </span>
      </th>
      <td data-label="Market"><span>{bot.symbol} <span class="muted small">{bot.exchange}</span></span></td>
      <td data-label="Strategy"><span>{humanize(bot.strategy)} <span class={`mode ${bot.mode}`}>{bot.mode}</span></span></td>
      <td data-label="Status"><StatusPill status={bot.status} reason={bot.pause_reason} /></td>
      <td class="num" data-label="Cash">{money(bot.cash, bot.quote_currency)}</td>
      <td class="num" data-label="Position">{number(bot.position)} {baseCurrency(bot.symbol)}</td>
      <td data-label="Actions"><LifecycleButtons bot={bot} onDelete={() => onDelete(bot)} /></td>
    </tr>
  );
});

export function Bots() {
  useTitle("Bots");
  const { items, loaded, error } = useStore(bots);
  const { query } = useRoute();
  const status = query.get("status") ?? "";
  const [deleting, setDeleting] = useState<Bot | null>(null);
  const [search, setSearch] = useState("");
  const shown = items.filter((b) => (!status || b.status === status) && (!search || `${b.name} ${b.symbol} ${b.exchange}`.toLowerCase().includes(search.toLowerCase())));
  const body = useRef<HTMLTableSectionElement>(null);
  const windowed = shown.length >= WINDOW_FROM;
  const { start, end, rowHeight } = useRowWindow(body, shown.length, windowed);

  return (
    <>
      <PageHeader title="Bots">
        <a class="button primary" href={href("/bots/new")}>New bot</a>
      </PageHeader>
      <div class="toolbar">
        <div class="segmented" role="group" aria-label="Show bots by status">
          {["", "running", "paused", "quarantined", "stopped"].map((s) => (
            <button key={s} type="button" aria-pressed={status === s} onClick={() => navigate(s ? `/bots?status=${s}` : "/bots")}>
              {s ? humanize(s) : "All"} <span class="count">{s ? items.filter((b) => b.status === s).length : items.length}</span>
            </button>
          ))}
        </div>
        <div class="field inline">
          <label for="bot-search" class="visually-hidden">Search bots</label>
          <input id="bot-search" type="search" placeholder="Search by name, symbol or exchange" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
      </div>
      <ErrorNote error={error ? new Error(error) : null} retry={() => void refreshBots()} />
      {!loaded ? <Loading /> : items.length === 0 ? (
        <Empty title="You have no bots yet">
          <p>A bot trades one market with one strategy. Start in paper mode: simulated money, real exchange rules.</p>
          <a class="button primary" href={href("/bots/new")}>Create your first bot</a>
        </Empty>
      ) : shown.length === 0 ? (
        <Empty title="No bots match" />
      ) : (
        <div class="table-wrap card flush">
          <table class="responsive bots" data-testid="bots-table" aria-rowcount={windowed ? shown.length + 1 : undefined}>
            <caption class="visually-hidden">Your bots{status ? `, ${status}` : ""}</caption>
            <thead>
              <tr>
                <th scope="col">Bot</th><th scope="col">Market</th><th scope="col">Strategy</th><th scope="col">Status</th>
                <th scope="col" class="num">Cash</th><th scope="col" class="num">Position</th><th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody ref={body}>
              {start > 0 && <tr class="spacer" aria-hidden="true"><td colSpan={7} style={{ height: `${start * rowHeight}px` }} /></tr>}
              {shown.slice(start, end).map((bot, i) => (
                <BotRow key={bot.id} bot={bot} onDelete={setDeleting} rowIndex={windowed ? start + i + 2 : undefined} />
              ))}
              {end < shown.length && <tr class="spacer" aria-hidden="true"><td colSpan={7} style={{ height: `${(shown.length - end) * rowHeight}px` }} /></tr>}
            </tbody>
          </table>
        </div>
      )}
      {deleting && <DeleteBotDialog bot={deleting} onClose={() => setDeleting(null)} />}
    </>
  );
}
