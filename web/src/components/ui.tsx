// Small shared pieces: dialogs (native <dialog>: focus is trapped, Escape closes, the page behind is inert,
// focus returns to the opener), toasts, status pills, empty and error states, progress bars, sparklines.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { errorText } from "../api";
import { humanize } from "../format";
import { href } from "../router";
import { dismissToast, toasts } from "../session";
import { useStore } from "../store";

export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  describedBy?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[data-autofocus], input:not([type=hidden]), select, textarea, button:not(.dialog-close)");
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? "wide" : ""}
      aria-labelledby={titleId}
      aria-describedby={props.describedBy}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" class="icon dialog-close" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const bodyId = useId();
  return (
    <Dialog title={props.title} onClose={props.onClose} describedBy={bodyId}>
      <div id={bodyId}>{props.children}</div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="actions end">
        <button type="button" class="secondary" onClick={props.onClose} data-autofocus>
          Cancel
        </button>
        <button
          type="button"
          class={props.danger ? "danger" : "primary"}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await props.onConfirm();
              props.onClose();
            } catch (e) {
              setError(errorText(e));
              setBusy(false);
            }
          }}
        >
          {busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

export function Toasts() {
  const list = useStore(toasts);
  return (
    <div class="toasts" role="region" aria-label="Notifications">
      <div aria-live="polite" aria-relevant="additions" class="toast-stack">
        {list.map((t) => (
          <div key={t.id} class={`toast ${t.kind}`} data-testid="toast">
            <div class="toast-text">
              <strong>{t.href ? <a href={href(t.href)}>{t.title}</a> : t.title}</strong>
              {t.body && <span>{t.body}</span>}
            </div>
            <button type="button" class="icon" aria-label="Dismiss notification" onClick={() => dismissToast(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}

export function StatusPill({ status, reason }: { status: string; reason?: string | null }) {
  return (
    <span class={`pill ${status}`} title={reason ? humanize(reason) : undefined}>
      <span class="dot" aria-hidden="true" />
      {humanize(status)}
      {reason && status !== "running" ? <span class="visually-hidden">: {humanize(reason)}</span> : null}
    </span>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error-note" role="alert">
      <span>{errorText(error)}</span>
      {retry && (
        <button type="button" class="secondary small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Progress({ value, label }: { value: number; label: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}
      aria-valuetext={`${pct} %`}>
      <div class="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return <span class="muted small">collecting…</span>;
  const w = 120, h = 32;
  const min = Math.min(...values), max = Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - 2 - ((v - min) / span) * (h - 4)).toFixed(1)}`);
  return (
    <svg class="sparkline" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}>
      <polyline points={points.join(" ")} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

export function Card(props: { title?: string; children: ComponentChildren; class?: string; actions?: ComponentChildren; headingLevel?: 2 | 3 }) {
  const Heading = (props.headingLevel === 3 ? "h3" : "h2") as "h2";
  return (
    <section class={`card ${props.class ?? ""}`}>
      {(props.title || props.actions) && (
        <div class="card-head">
          {props.title && <Heading>{props.title}</Heading>}
          {props.actions && <div class="card-actions">{props.actions}</div>}
        </div>
      )}
      {props.children}
    </section>
  );
}

/** The view's heading: focused after navigation so screen readers announce the new page. */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <h1 tabIndex={-1} id="page-title">{title}</h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

export function Field(props: { label: string; hint?: string; error?: string; children: (id: string, describedBy?: string) => JSX.Element }) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint && <small id={hintId} class="hint">{props.hint}</small>}
    </div>
  );
}
