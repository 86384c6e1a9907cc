// The assistant: a chat panel on every page. The server only ever proposes; a proposed action opens a dialog
// with its preview (what it will touch) and Confirm / Cancel, which call /api/ai/action/execute and /cancel.
// "show admin" asks for the password in the same dialog. The conversation also arrives over the socket
// (assistant events), e.g. from another tab.
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { AssistantAction, AssistantMessage, api, ChatReply, errorText, Page } from "../api";
import { ConfirmDialog, Dialog } from "../components/ui";
import { fullTime, humanize, money, number, when } from "../format";
import { useLive } from "../hooks";
import { adminUnlocked, refreshBots, session, toast } from "../session";
import { Store, useStore } from "../store";

const messages = new Store<AssistantMessage[]>([]);
const tokens = new Map<string, string>();
let loaded = false;

function forget(): void {
  messages.set([]);
  tokens.clear();
  loaded = false;
}

// Another account signed in to this tab (or nobody is) must never see this conversation or use its tokens.
let conversationOf: string | null = null;
session.subscribe(({ user }) => {
  const id = user?.id ?? null;
  if (id !== conversationOf) {
    conversationOf = id;
    forget();
  }
});

const SUGGESTIONS = ["status", "portfolio", "emergency stop", "help"];

export function Assistant({ open, onClose }: { open: boolean; onClose: () => void }) {
  const list = useStore(messages);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState<AssistantAction | null>(null);
  const [clearing, setClearing] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLOListElement>(null);
  const headingId = useId();

  const [epoch, setEpoch] = useState(0); // bumped to read the history again (after a reconnect)
  useEffect(() => {
    if (!open) return;
    input.current?.focus();
    if (!loaded) {
      loaded = true;
      api<Page<AssistantMessage>>("/api/ai/chat/history?limit=50")
        .then((page) => messages.set(mergeHistory(page.items, messages.value)))
        .catch(() => (loaded = false));
    }
  }, [open, epoch]);
  useLive("resync", () => {
    loaded = false; // what was said while the socket was down is read again (now, or when the panel opens)
    setEpoch((n) => n + 1);
  });

  useEffect(() => {
    const box = log.current;
    if (box) box.scrollTop = box.scrollHeight; // the newest message in view
  }, [list, open, busy]);

  useLive("assistant", (message: AssistantMessage) => {
    messages.update((all) => {
      if (message.id && all.some((m) => m.id === message.id)) return all;
      // Our own message (sent from this tab) arrives again over the socket: adopt its id.
      const mine = all.findIndex((m) => !m.id && m.role === message.role && m.text === message.text);
      if (mine >= 0) {
        const next = all.slice();
        next[mine] = { ...next[mine], id: message.id, ts: message.ts };
        return next;
      }
      return [...all, message];
    });
  });

  async function send(message: string) {
    const trimmed = message.trim();
    if (!trimmed || busy) return;
    setBusy(true);
    setError(null);
    setText("");
    messages.update((all) => [...all, { role: "user", text: trimmed, ts: new Date().toISOString() }]);
    try {
      const reply = await api<ChatReply>("/api/ai/chat", { body: { message: trimmed } });
      for (const action of reply.actions) if (action.confirmation_token) tokens.set(action.id, action.confirmation_token);
      messages.update((all) => {
        const dup = all.findIndex((m) => m.role === "assistant" && m.text === reply.reply && !m.actions?.length && m.ts && Date.now() - Date.parse(m.ts) < 10_000);
        const next = dup >= 0 ? all.filter((_, i) => i !== dup) : all;
        return [...next, { id: dup >= 0 ? all[dup].id : undefined, role: "assistant", text: reply.reply, actions: reply.actions, note: reply.note, ts: new Date().toISOString() }];
      });
      const pending = reply.actions.find((a) => a.requires_confirmation && (a.status ?? "pending") === "pending");
      if (pending) setReviewing(pending);
    } catch (e) {
      setError(errorText(e));
      setText(trimmed);
    } finally {
      setBusy(false);
    }
  }

  function settle(action: AssistantAction, status: string) {
    tokens.delete(action.id);
    messages.update((all) => all.map((m) => (m.actions?.some((a) => a.id === action.id)
      ? { ...m, actions: m.actions.map((a) => (a.id === action.id ? { ...a, status } : a)) } : m)));
  }

  return (
    <aside id="assistant-panel" class="assistant" hidden={!open} aria-labelledby={headingId}>
      <div class="assistant-head">
        <h2 id={headingId}>Assistant</h2>
        <button type="button" class="small secondary" disabled={list.length === 0} onClick={() => setClearing(true)}>Clear history</button>
        <button type="button" class="icon" aria-label="Close the assistant" onClick={onClose}>×</button>
      </div>
      <ol class="chat" ref={log} aria-label="Conversation" tabIndex={0} aria-live="polite" aria-relevant="additions">
        {list.length === 0 && (
          <li class="chat-hint muted">Ask about your bots, portfolio or trades, or tell it to pause, resume or emergency-stop. Every change waits for your confirmation.</li>
        )}
        {list.map((m, i) => (
          <li key={m.id ?? `local-${i}`} class={`msg ${m.role}`}>
            <span class="visually-hidden">{m.role === "user" ? "You" : "Assistant"}: </span>
            <p>{m.text}</p>
            {m.note && <p class="muted small">{m.note}</p>}
            {m.actions?.map((a) => (
              <div class="action-chip" key={a.id}>
                <span>{a.description}</span>
                {(a.status ?? "pending") === "pending" && tokens.has(a.id) ? (
                  <button type="button" class="small primary" onClick={() => setReviewing(a)}>Review</button>
                ) : (
                  <span class={`pill ${a.status === "done" ? "running" : "stopped"}`}>{humanize(a.status ?? "pending")}</span>
                )}
              </div>
            ))}
            {m.ts && <time class="muted small" dateTime={m.ts} title={fullTime(m.ts)}>{when(m.ts)}</time>}
          </li>
        ))}
        {busy && <li class="msg assistant typing" aria-label="The assistant is answering">…</li>}
      </ol>
      <div class="suggestions" role="group" aria-label="Suggestions">
        {SUGGESTIONS.map((s) => <button key={s} type="button" class="chip" disabled={busy} onClick={() => void send(s)}>{s}</button>)}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <form class="chat-form" onSubmit={(e) => { e.preventDefault(); void send(text); }}>
        <label for="chat-input" class="visually-hidden">Message the assistant</label>
        <textarea id="chat-input" ref={input} rows={2} maxLength={2000} value={text} placeholder="Ask or tell the assistant…"
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); void send(text); } }} />
        <button type="submit" class="primary" disabled={busy || !text.trim()}>Send</button>
      </form>
      {clearing && (
        <ConfirmDialog title="Clear the conversation?" confirmLabel="Clear history" danger onClose={() => setClearing(false)}
          onConfirm={async () => {
            await api("/api/ai/chat/history", { method: "DELETE" });
            forget();
            loaded = true; // nothing left to read
            toast("info", "Conversation cleared", "The assistant no longer remembers anything about you; pending proposals were cancelled.");
          }}>
          <p>The conversation and everything the assistant remembers about you are erased, and pending proposals are cancelled.</p>
        </ConfirmDialog>
      )}
      {reviewing && <ActionDialog action={reviewing} onClose={() => setReviewing(null)} onSettled={(status) => settle(reviewing, status)} />}
    </aside>
  );
}

function mergeHistory(history: AssistantMessage[], local: AssistantMessage[]): AssistantMessage[] {
  const ids = new Set(history.map((m) => m.id));
  return [...history, ...local.filter((m) => !m.id || !ids.has(m.id))];
}

function ActionDialog({ action, onClose, onSettled }: { action: AssistantAction; onClose: () => void; onSettled: (status: string) => void }) {
  const [busy, setBusy] = useState<"confirm" | "cancel" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const previewId = useId();

  async function confirm() {
    setBusy("confirm");
    setError(null);
    try {
      const result = await api<{ status: string; result?: unknown }>("/api/ai/action/execute", {
        body: { action_id: action.id, confirmation_token: tokens.get(action.id), ...(action.needs_password ? { password } : {}) },
      });
      onSettled(result.status ?? "done");
      if (action.type === "show_admin") adminUnlocked.set(true);
      toast("success", `${humanize(action.type)}: done`, summarize(result.result));
      void refreshBots();
      onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(null);
    }
  }

  async function cancel() {
    setBusy("cancel");
    try {
      await api("/api/ai/action/cancel", { body: { action_id: action.id } });
      onSettled("cancelled");
      onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(null);
    }
  }

  return (
    <Dialog title={`Confirm: ${humanize(action.type)}`} onClose={onClose} describedBy={previewId} wide>
      <div id={previewId}>
        <p>{action.description}</p>
        <Preview preview={action.preview} />
        {action.expires_at && <p class="muted small">This proposal expires at {fullTime(action.expires_at)}.</p>}
      </div>
      <form onSubmit={(e) => { e.preventDefault(); void confirm(); }}>
        {action.needs_password && (
          <div class="field">
            <label for="action-password">Your password</label>
            <input id="action-password" type="password" required autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </div>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        <div class="actions end">
          <button type="button" class="secondary" disabled={busy !== null} onClick={() => void cancel()} data-autofocus={action.needs_password ? undefined : true}>
            {busy === "cancel" ? "Cancelling…" : "Cancel"}
          </button>
          <button type="submit" class={action.type.includes("stop") ? "danger" : "primary"} disabled={busy !== null}>
            {busy === "confirm" ? "Working…" : "Confirm"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function summarize(result: unknown): string | undefined {
  if (!result || typeof result !== "object") return result ? String(result) : undefined;
  const r = result as Record<string, unknown>;
  const parts = Object.entries(r).filter(([, v]) => typeof v === "number" || typeof v === "string").map(([k, v]) => `${humanize(k)}: ${v}`);
  return parts.join(" · ") || undefined;
}

function Preview({ preview }: { preview: unknown }) {
  if (!preview || typeof preview !== "object") return null;
  const p = preview as Record<string, unknown> & { bots?: Record<string, string | number | null>[] };
  const counts = Object.entries(p).filter(([, v]) => typeof v === "number");
  return (
    <div class="preview" data-testid="action-preview">
      {counts.length > 0 && (
        <ul class="chips" aria-label="Summary">
          {counts.map(([k, v]) => <li key={k} class="chip static">{humanize(k)}: <strong>{String(v)}</strong></li>)}
        </ul>
      )}
      {Array.isArray(p.bots) && p.bots.length > 0 && (
        <div class="table-wrap">
          <table class="responsive">
            <caption>Bots this touches</caption>
            <thead><tr><th scope="col">Bot</th><th scope="col">Market</th><th scope="col">Now</th><th scope="col">Will</th><th scope="col" class="num">Open position</th></tr></thead>
            <tbody>
              {p.bots.map((b, i) => (
                <tr key={String(b.id ?? i)}>
                  <th scope="row" data-label="Bot">{String(b.name ?? b.id)}</th>
                  <td data-label="Market"><span>{String(b.symbol ?? "")} <span class="muted small">{String(b.exchange ?? "")}</span></span></td>
                  <td data-label="Now">{humanize(String(b.status ?? ""))}</td>
                  <td data-label="Will"><strong>{humanize(String(b.will ?? ""))}</strong></td>
                  <td class="num" data-label="Open position">{number(b.position as string)} {String(b.symbol ?? "").split("/")[0]}
                    {b.cash != null && <span class="muted small"> · cash {money(b.cash as string, String(b.quote_currency ?? ""))}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!Array.isArray(p.bots) && counts.length === 0 && <pre>{JSON.stringify(preview, null, 2)}</pre>}
    </div>
  );
}
