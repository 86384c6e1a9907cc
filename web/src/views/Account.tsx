// The account: change one's password. After an admin's reset the temporary password only lets its user choose their
// own (the server answers everything else 403 password_change_required), so App renders this alone, full page.
import { useState } from "preact/hooks";
import { errorText } from "../api";
import { Card, PageHeader } from "../components/ui";
import { useTitle } from "../hooks";
import { changePassword, session, signOut, toast } from "../session";
import { useStore } from "../store";
import { AuthPage } from "./Auth";

function PasswordForm({ required }: { required: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const next = String(data.get("new_password"));
    if (next !== String(data.get("confirm_password"))) {
      setError("The two new passwords differ.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await changePassword(String(data.get("current_password")), next);
      form.reset();
      toast("success", "Password changed", "Your other sessions were signed out.");
    } catch (e) {
      setError(errorText(e));
    }
    setBusy(false);
  }

  return (
    <form onSubmit={submit} aria-describedby={error ? "password-error" : undefined}>
      <div class="field">
        <label for="current-password">{required ? "Temporary password" : "Current password"}</label>
        <input id="current-password" name="current_password" type="password" required autoComplete="current-password" />
      </div>
      <div class="field">
        <label for="new-password">New password</label>
        <input id="new-password" name="new_password" type="password" required minLength={10} autoComplete="new-password"
          aria-describedby="new-password-hint" />
        <small id="new-password-hint" class="hint">At least 10 characters; a passphrase works well.</small>
      </div>
      <div class="field">
        <label for="confirm-password">New password again</label>
        <input id="confirm-password" name="confirm_password" type="password" required minLength={10} autoComplete="new-password" />
      </div>
      {error && <p class="error" id="password-error" role="alert">{error}</p>}
      <button type="submit" class={required ? "primary block" : "primary"} disabled={busy}>
        {busy ? "Please wait…" : "Change password"}
      </button>
    </form>
  );
}

/** Full page, before anything else: signed in with an admin reset's temporary password. */
export function ChoosePassword() {
  const { user } = useStore(session);
  useTitle("Choose your password");
  return (
    <AuthPage>
      <h1 tabIndex={-1}>Choose your password</h1>
      <p class="muted">
        {user?.email} signed in with a temporary password from an administrator. Choose a password of your own to go on.
      </p>
      <PasswordForm required />
      <p class="switch">
        <button type="button" class="link" onClick={() => void signOut()}>Sign out</button>
      </p>
    </AuthPage>
  );
}

/** #/account: the signed-in user's details and a password change. */
export function Account() {
  const { user } = useStore(session);
  useTitle("Account");
  return (
    <>
      <PageHeader title="Account" />
      <Card title="Password" class="narrow">
        <p class="muted">{user?.email}. Changing the password signs out every other session.</p>
        <PasswordForm required={false} />
      </Card>
    </>
  );
}
