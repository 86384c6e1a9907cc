// API keys: the six providers, each with the fields it needs (required_fields from GET /api/keys), masked.
// Secrets go in and never come back: the form clears after a save, and the page only ever shows masked_key.
import { useState } from "preact/hooks";
import { api, errorText, KeyRecord, KeyTest } from "../api";
import { ConfirmDialog, ErrorNote, Loading, PageHeader } from "../components/ui";
import { fullTime, humanize, when } from "../format";
import { useAsync, useTitle } from "../hooks";
import { toast } from "../session";

const PROVIDERS: Record<string, { name: string; about: string; fields: string[] }> = {
  openai: { name: "OpenAI", about: "Lets the assistant use a language model; without it, it answers with its built-in commands.", fields: ["api_key"] },
  luno: { name: "Luno", about: "Live trading on Luno (key id and secret).", fields: ["api_key", "api_secret"] },
  binance: { name: "Binance", about: "Live trading on Binance spot.", fields: ["api_key", "api_secret"] },
  kucoin: { name: "KuCoin", about: "Live trading on KuCoin (key, secret and the passphrase you chose).", fields: ["api_key", "api_secret", "passphrase"] },
  valr: { name: "VALR", about: "Live trading on VALR.", fields: ["api_key", "api_secret"] },
  ovex: { name: "OVEX", about: "Live trading on OVEX (request-for-quote).", fields: ["api_key", "api_secret"] },
};

const FIELD_LABELS: Record<string, string> = { api_key: "API key", api_secret: "API secret", passphrase: "Passphrase" };

function ProviderCard({ record, onChange }: { record: KeyRecord; onChange: (r: KeyRecord | null) => void }) {
  const info = PROVIDERS[record.provider] ?? { name: humanize(record.provider), about: "", fields: ["api_key"] };
  const fields = record.required_fields?.length ? record.required_fields : info.fields;
  const [busy, setBusy] = useState<"save" | "test" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [test, setTest] = useState<KeyTest | null>(null);
  const [deleting, setDeleting] = useState(false);
  const id = `key-${record.provider}`;
  const lastTest = test ?? record.last_test;

  async function save(event: Event) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const body: Record<string, string> = {};
    for (const f of fields) body[f] = String(data.get(f) ?? "");
    setBusy("save");
    setError(null);
    try {
      const saved = await api<KeyRecord>(`/api/keys/${record.provider}`, { method: "PUT", body });
      form.reset();
      setTest(null);
      onChange(saved);
      toast("success", `${info.name} key saved`, `Stored encrypted as ${saved.masked_key}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
    }
  }

  async function runTest() {
    setBusy("test");
    setError(null);
    try {
      const result = await api<KeyTest>("/api/keys/test", { body: { provider: record.provider } });
      setTest(result);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section class="card key-card" aria-labelledby={`${id}-h`} data-provider={record.provider}>
      <div class="card-head">
        <h2 id={`${id}-h`}>{info.name}</h2>
        <span class={`pill ${record.configured ? "running" : "stopped"}`}>{record.configured ? "Configured" : "Not set"}</span>
      </div>
      <p class="muted small">{info.about}</p>
      {record.configured && (
        <p class="masked">
          Key <code data-testid="masked-key">{record.masked_key}</code>
          {record.updated_at && <span class="muted small"> · saved <time dateTime={record.updated_at} title={fullTime(record.updated_at)}>{when(record.updated_at)}</time></span>}
        </p>
      )}
      {lastTest && (
        <p class={`test-result ${lastTest.ok ? "ok" : "bad"}`} role="status" data-testid="key-test">
          {lastTest.ok ? "✓ Works" : "✗ Failed"}: {lastTest.message}
          {lastTest.latency_ms !== undefined && <span class="muted small"> ({lastTest.latency_ms} ms)</span>}
        </p>
      )}
      <form onSubmit={save} autoComplete="off">
        {fields.map((f) => (
          <div class="field" key={f}>
            <label for={`${id}-${f}`}>{FIELD_LABELS[f] ?? humanize(f)}</label>
            <input id={`${id}-${f}`} name={f} type="password" required autoComplete="new-password" spellcheck={false}
              placeholder={record.configured ? "Enter a new value to replace it" : ""} />
          </div>
        ))}
        {error && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="submit" class="primary small" disabled={busy !== null}>{busy === "save" ? "Saving…" : record.configured ? "Replace" : "Save"}</button>
          <button type="button" class="secondary small" disabled={!record.configured || busy !== null} onClick={() => void runTest()}>
            {busy === "test" ? "Testing…" : "Test"}
          </button>
          <button type="button" class="small danger-outline" disabled={!record.configured || busy !== null} onClick={() => setDeleting(true)}>Delete</button>
        </div>
      </form>
      {deleting && (
        <ConfirmDialog title={`Delete the ${info.name} key?`} confirmLabel="Delete key" danger onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api(`/api/keys/${record.provider}`, { method: "DELETE" });
            setTest(null);
            onChange(null);
            toast("info", `${info.name} key deleted`);
          }}>
          <p>{record.provider === "openai" ? "The assistant falls back to its built-in commands." : `Live bots on ${info.name} can no longer place orders.`}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

export function Keys() {
  useTitle("API keys");
  const keys = useAsync(() => api<{ items: KeyRecord[] }>("/api/keys"), []);
  return (
    <>
      <PageHeader title="API keys" />
      <p class="lead">Keys are encrypted with a key only botfleet's trading functions can use; they are never shown again, only their last 4 characters.</p>
      {keys.loading && !keys.data && <Loading />}
      <ErrorNote error={keys.error} retry={keys.reload} />
      <div class="key-grid">
        {keys.data?.items.map((record) => (
          <ProviderCard key={record.provider} record={record} onChange={(saved) => keys.setData((old) => ({
            items: (old?.items ?? []).map((r) => r.provider === record.provider
              ? saved ?? { ...r, configured: false, masked_key: null, updated_at: null, last_test: null } : r),
          }))} />
        ))}
      </div>
    </>
  );
}
