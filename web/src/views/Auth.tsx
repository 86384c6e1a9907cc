// Sign in and register. Nothing of the app is rendered before a session exists (the old page's panels showed
// under the sign-in box: a display:grid rule beat `hidden`).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { errorText } from "../api";
import { register, session, signIn } from "../session";
import { useStore } from "../store";
import { ThemeToggle } from "../components/chrome";
import { useTitle } from "../hooks";

export function Auth() {
  const [mode, setMode] = useState<"signin" | "register">("signin");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { notice } = useStore(session);
  useTitle(mode === "signin" ? "Sign in" : "Create account");

  async function submit(event: Event) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      if (mode === "signin") await signIn(String(data.get("email")), String(data.get("password")));
      else await register(String(data.get("name")), String(data.get("email")), String(data.get("password")));
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }

  return (
    <AuthPage>
      <h1 tabIndex={-1}>{mode === "signin" ? "Sign in to botfleet" : "Create your botfleet account"}</h1>
      <p class="muted">Run a fleet of paper and live trading bots on Luno, Binance, KuCoin, VALR and OVEX.</p>
      {notice && mode === "signin" && <p class="notice" role="status">{notice}</p>}
      <form onSubmit={submit} aria-describedby={error ? "auth-error" : undefined} key={mode}>
        {mode === "register" && (
          <div class="field">
            <label for="auth-name">Name</label>
            <input id="auth-name" name="name" required maxLength={64} autoComplete="name" />
          </div>
        )}
        <div class="field">
          <label for="auth-email">Email</label>
          <input id="auth-email" name="email" type="email" required autoComplete="username" />
        </div>
        <div class="field">
          <label for="auth-password">Password</label>
          <input id="auth-password" name="password" type="password" required minLength={mode === "register" ? 10 : 1}
            autoComplete={mode === "signin" ? "current-password" : "new-password"} aria-describedby={mode === "register" ? "pw-hint" : undefined} />
          {mode === "register" && <small id="pw-hint" class="hint">At least 10 characters; a passphrase works well.</small>}
        </div>
        {error && <p class="error" id="auth-error" role="alert">{error}</p>}
        <button type="submit" class="primary block" disabled={busy}>
          {busy ? "Please wait…" : mode === "signin" ? "Sign in" : "Create account"}
        </button>
      </form>
      <p class="switch">
        {mode === "signin" ? "New to botfleet? " : "Already have an account? "}
        <button type="button" class="link" onClick={() => { setMode(mode === "signin" ? "register" : "signin"); setError(null); }}>
          {mode === "signin" ? "Create an account" : "Sign in"}
        </button>
      </p>
    </AuthPage>
  );
}

/** The page around a form shown before the app (sign in, choosing a password): the brand, the theme, one card. */
export function AuthPage({ children }: { children: ComponentChildren }) {
  return (
    <div class="auth-page">
      <div class="auth-top">
        <span class="brand" aria-hidden="true"><Logo /> botfleet</span>
        <ThemeToggle />
      </div>
      <main class="auth-card card" id="main">
        {children}
      </main>
    </div>
  );
}

export function Logo() {
  return (
    <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <rect width="16" height="16" rx="3" fill="var(--accent)" />
      <path d="M3 11l3-4 3 2 4-5" stroke="white" stroke-width="1.6" fill="none" />
    </svg>
  );
}
