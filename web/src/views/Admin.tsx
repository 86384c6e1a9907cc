// Admin (role admin only; every call is audited server-side): users (block, unblock, force logout, reset
// password, delete), the fleet's bots (mode, pause, resume, restart), the audit log with filters, and the
// quarantine ladder's configuration.
import { useState } from "preact/hooks";
import { api, Bot, errorText, Page, QuarantineConfig, User, AuditEntry } from "../api";
import { Card, ConfirmDialog, Dialog, ErrorNote, Loading, PageHeader, StatusPill } from "../components/ui";
import { fullTime, humanize, when } from "../format";
import { useAsync, useTitle } from "../hooks";
import { href, navigate } from "../router";
import { session, toast } from "../session";
import { useStore } from "../store";

const TABS = [
  { id: "users", label: "Users" },
  { id: "bots", label: "Bots" },
  { id: "audit", label: "Audit log" },
  { id: "quarantine", label: "Quarantine config" },
];

export function Admin({ tab = "users" }: { tab?: string }) {
  useTitle("Admin");
  const current = TABS.some((t) => t.id === tab) ? tab : "users";
  return (
    <>
      <PageHeader title="Admin" />
      <nav class="tabs" aria-label="Admin sections">
        {TABS.map((t) => (
          <a key={t.id} href={href(`/admin/${t.id}`)} aria-current={current === t.id ? "page" : undefined}>{t.label}</a>
        ))}
      </nav>
      {current === "users" && <Users />}
      {current === "bots" && <FleetBots />}
      {current === "audit" && <Audit />}
      {current === "quarantine" && <QuarantineSettings />}
    </>
  );
}

type UserAction = "block" | "unblock" | "logout" | "reset-password" | "delete";

function Users() {
  const me = useStore(session).user;
  const users = useAsync(() => api<Page<User>>("/api/admin/users?limit=200"), []);
  const [confirm, setConfirm] = useState<{ user: User; action: UserAction } | null>(null);
  const [temporary, setTemporary] = useState<{ user: User; password: string } | null>(null);
  const [filter, setFilter] = useState("");

  async function act(user: User, action: UserAction) {
    if (action === "delete") {
      await api(`/api/admin/users/${encodeURIComponent(user.id)}`, { method: "DELETE" });
      users.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: (old?.items ?? []).filter((u) => u.id !== user.id) }));
      toast("info", `${user.email} was deleted`);
      return;
    }
    const reply = await api<Record<string, unknown>>(`/api/admin/users/${encodeURIComponent(user.id)}/${action}`, { method: "POST", body: {} });
    if (action === "reset-password") {
      setTemporary({ user, password: String(reply?.temporary_password ?? "") });
      return;
    }
    if (action === "block" || action === "unblock") {
      users.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: (old?.items ?? []).map((u) => (u.id === user.id ? { ...u, blocked: action === "block" } : u)) }));
    }
    toast("success", action === "block" ? `${user.email} is blocked` : action === "unblock" ? `${user.email} is unblocked` : `${user.email} was signed out everywhere`);
  }

  const shown = (users.data?.items ?? []).filter((u) => !filter || `${u.email} ${u.name}`.toLowerCase().includes(filter.toLowerCase()));
  const verbs: Record<UserAction, string> = { block: "Block", unblock: "Unblock", logout: "Force logout", "reset-password": "Reset password", delete: "Delete" };
  const explain: Record<UserAction, string> = {
    block: "They cannot sign in, and their open sessions and sockets end at once. Their bots keep their state.",
    unblock: "They can sign in again.",
    logout: "Every token of theirs is revoked and their open sockets close; they can sign in again.",
    "reset-password": "Their password is replaced by a temporary one, shown to you once; their sessions end.",
    delete: "Their bots (stopped first), trades, keys and connections are removed. This cannot be undone.",
  };

  return (
    <Card title="Users">
      <div class="field inline">
        <label for="user-filter" class="visually-hidden">Find a user</label>
        <input id="user-filter" type="search" placeholder="Find by email or name" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </div>
      {users.loading && !users.data && <Loading />}
      <ErrorNote error={users.error} retry={users.reload} />
      {users.data && (
        <div class="table-wrap">
          <table class="responsive" data-testid="users-table">
            <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Joined</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {shown.map((u) => (
                <tr key={u.id} data-user-email={u.email}>
                  <th scope="row" data-label="User"><span>{u.name} <span class="muted small">{u.email}</span></span></th>
                  <td data-label="Role">{u.role}</td>
                  <td data-label="Status">{u.blocked ? <span class="pill stopped">Blocked</span> : <span class="pill running">Active</span>}</td>
                  <td data-label="Joined"><time dateTime={u.created_at} title={fullTime(u.created_at)}>{when(u.created_at)}</time></td>
                  <td data-label="Actions">
                    {u.id !== me?.id ? (
                      <div class="row-actions" role="group" aria-label={`Actions for ${u.email}`}>
                        {(u.blocked ? ["unblock"] : ["block"]).concat(["logout", "reset-password", "delete"]).map((a) => (
                          <button key={a} type="button" class={`small ${a === "delete" || a === "block" ? "danger-outline" : "secondary"}`}
                            aria-label={`${verbs[a as UserAction]} ${u.email}`} onClick={() => setConfirm({ user: u, action: a as UserAction })}>
                            {verbs[a as UserAction]}
                          </button>
                        ))}
                      </div>
                    ) : <span class="muted small">you</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirm && (
        <ConfirmDialog title={`${verbs[confirm.action]} ${confirm.user.email}?`} confirmLabel={verbs[confirm.action]}
          danger={confirm.action === "delete" || confirm.action === "block"} onClose={() => setConfirm(null)}
          onConfirm={() => act(confirm.user, confirm.action)}>
          <p>{explain[confirm.action]}</p>
        </ConfirmDialog>
      )}
      {temporary && (
        <Dialog title="Temporary password" onClose={() => setTemporary(null)}>
          <p>Give this to {temporary.user.email} over a safe channel. It is not shown again.</p>
          <p><code class="secret" data-autofocus tabIndex={0}>{temporary.password}</code></p>
          <div class="actions end"><button type="button" class="primary" onClick={() => setTemporary(null)}>Done</button></div>
        </Dialog>
      )}
    </Card>
  );
}

function FleetBots() {
  const list = useAsync(() => api<Page<Bot & { owner_id?: string; owner_email?: string }>>("/api/admin/bots?limit=200"), []);
  const [busy, setBusy] = useState<string | null>(null);
  // Restart puts a bot back in the market (a tripped or quarantined one too, breakers re-based); switching a live bot
  // to paper leaves its exchange holdings unmanaged. Both are confirmed, on the bot as the server has it now.
  const [confirming, setConfirming] = useState<{ bot: Bot & { owner_email?: string; owner_id?: string }; action: "restart" | "mode" } | null>(null);
  async function review(bot: Bot, action: "restart" | "mode") {
    try {
      const page = await api<Page<Bot & { owner_id?: string; owner_email?: string }>>("/api/admin/bots?limit=200");
      list.setData(page);
      setConfirming({ bot: page.items.find((b) => b.id === bot.id) ?? bot, action });
    } catch (e) {
      toast("error", `Could not read ${bot.name}`, errorText(e));
    }
  }
  async function act(bot: Bot, action: string, body?: unknown) {
    setBusy(bot.id);
    try {
      const updated = await api<Bot>(`/api/admin/bots/${encodeURIComponent(bot.id)}/${action}`, { body: body ?? {} });
      list.setData((old) => ({ next_cursor: old?.next_cursor ?? null, items: (old?.items ?? []).map((b) => (b.id === bot.id ? { ...b, ...updated } : b)) }));
      toast("success", `${bot.name}: ${humanize(action)}`);
    } catch (e) {
      toast("error", `Could not ${action} ${bot.name}`, errorText(e));
    } finally {
      setBusy(null);
    }
  }
  return (
    <Card title="Every bot">
      {list.loading && !list.data && <Loading />}
      <ErrorNote error={list.error} retry={list.reload} />
      {list.data && (
        <div class="table-wrap">
          <table class="responsive">
            <thead><tr><th scope="col">Bot</th><th scope="col">Owner</th><th scope="col">Market</th><th scope="col">Status</th><th scope="col">Mode</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((b) => (
                <tr key={b.id}>
                  <th scope="row" data-label="Bot">{b.name}</th>
                  <td data-label="Owner">{b.owner_email ?? b.owner_id ?? "—"}</td>
                  <td data-label="Market"><span>{b.symbol} <span class="muted small">{b.exchange}</span></span></td>
                  <td data-label="Status"><StatusPill status={b.status} reason={b.pause_reason} /></td>
                  <td data-label="Mode">{b.mode}</td>
                  <td data-label="Actions">
                    <div class="row-actions" role="group" aria-label={`Admin actions for ${b.name}`}>
                      {b.status === "running" && <button type="button" class="small secondary" disabled={busy === b.id} onClick={() => act(b, "pause")}>Pause</button>}
                      {b.status === "paused" && <button type="button" class="small secondary" disabled={busy === b.id} onClick={() => act(b, "resume")}>Resume</button>}
                      <button type="button" class="small secondary" disabled={busy === b.id} onClick={() => void review(b, "restart")}>Restart</button>
                      {b.mode === "live" && <button type="button" class="small secondary" disabled={busy === b.id} onClick={() => void review(b, "mode")}>Switch to paper</button>}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming && (
        <ConfirmDialog title={confirming.action === "restart" ? `Restart ${confirming.bot.name}?` : `Switch ${confirming.bot.name} to paper?`}
          confirmLabel={confirming.action === "restart" ? "Restart bot" : "Switch to paper"} danger onClose={() => setConfirming(null)}
          onConfirm={() => act(confirming.bot, confirming.action, confirming.action === "mode" ? { mode: "paper" } : undefined)}>
          <p>
            {confirming.bot.owner_email ?? confirming.bot.owner_id ?? "Its owner"}'s {confirming.bot.mode} bot on {confirming.bot.exchange} {confirming.bot.symbol},
            now <strong>{humanize(confirming.bot.status)}</strong>{confirming.bot.pause_reason ? ` (${humanize(confirming.bot.pause_reason)})` : ""};
            position {confirming.bot.position ?? "0"}, cash {confirming.bot.cash ?? "—"} {confirming.bot.quote_currency ?? ""}.
          </p>
          <p>
            {confirming.action === "restart"
              ? "It goes back into the market now: a tripped or quarantined bot trades again, its breakers start afresh, and its quarantine ends."
              : "It stops trading with real money; what it holds on the exchange stays there, and nothing here manages it any more."}
          </p>
        </ConfirmDialog>
      )}
    </Card>
  );
}

function Audit() {
  const [filters, setFilters] = useState({ actor: "", action: "", since: "" });
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v) as [string, string][]).toString();
  const log = useAsync(() => api<Page<AuditEntry>>(`/api/admin/audit?limit=100${query ? `&${query}` : ""}`), [query]);
  return (
    <Card title="Audit log" actions={<button type="button" class="secondary small" onClick={() => void log.reload()}>Refresh</button>}>
      <form class="filters" role="search" aria-label="Filter the audit log" onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        const since = String(data.get("since") ?? "");
        setFilters({ actor: String(data.get("actor") ?? "").trim(), action: String(data.get("action") ?? "").trim(), since: since ? new Date(since).toISOString() : "" });
      }}>
        <div class="field"><label for="audit-actor">Actor (user id)</label><input id="audit-actor" name="actor" defaultValue={filters.actor} /></div>
        <div class="field"><label for="audit-action">Action</label><input id="audit-action" name="action" placeholder="e.g. admin.user.block" defaultValue={filters.action} /></div>
        <div class="field"><label for="audit-since">Since</label><input id="audit-since" name="since" type="datetime-local" /></div>
        <button type="submit" class="secondary">Apply</button>
      </form>
      {log.loading && !log.data && <Loading />}
      <ErrorNote error={log.error} retry={log.reload} />
      {log.data && (log.data.items.length === 0 ? <p class="muted">No entries.</p> : (
        <div class="table-wrap">
          <table class="responsive audit" data-testid="audit-table">
            <thead><tr><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Change</th></tr></thead>
            <tbody>
              {log.data.items.map((entry) => (
                <tr key={entry.id}>
                  <td data-label="Time"><time dateTime={entry.ts} title={fullTime(entry.ts)}>{when(entry.ts)}</time></td>
                  <td data-label="Actor">{entry.actor_email ?? entry.actor}</td>
                  <td data-label="Action"><code>{entry.action}</code></td>
                  <td data-label="Target" class="break">{entry.target}</td>
                  <td data-label="Change">
                    {(entry.before != null || entry.after != null) ? (
                      <details>
                        <summary>Details</summary>
                        <pre>{JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}</pre>
                      </details>
                    ) : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </Card>
  );
}

function QuarantineSettings() {
  const current = useAsync(() => api<QuarantineConfig>("/api/quarantine/config"), []);
  const [error, setError] = useState<string | null>(null);
  if (current.loading && !current.data) return <Loading />;
  if (!current.data) return <ErrorNote error={current.error} retry={current.reload} />;
  return (
    <Card title="Quarantine ladder">
      <form onSubmit={async (e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        const durations = String(data.get("durations")).split(",").map((s) => Number(s.trim()));
        setError(null);
        try {
          const saved = await api<QuarantineConfig>("/api/quarantine/config", { method: "PUT", body: { durations_seconds: durations, max_pauses: Number(data.get("max_pauses")) } });
          current.setData(saved);
          toast("success", "Quarantine ladder saved");
        } catch (err) {
          setError(errorText(err));
        }
      }}>
        <div class="grid-2">
          <div class="field">
            <label for="q-durations">Durations (seconds, comma-separated)</label>
            <input id="q-durations" name="durations" required defaultValue={current.data.durations_seconds.join(", ")} aria-describedby="q-durations-hint" />
            <small id="q-durations-hint" class="hint">One per risk pause before regeneration; default 3600, 10800, 86400 (1 h, 3 h, 24 h).</small>
          </div>
          <div class="field">
            <label for="q-max">Regenerate on pause number</label>
            <input id="q-max" name="max_pauses" type="number" min="1" max="20" required defaultValue={String(current.data.max_pauses)} />
          </div>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary">Save</button>
        <button type="button" class="link" onClick={() => navigate("/quarantine")}>See quarantined bots</button>
      </form>
    </Card>
  );
}
