import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ConnectionIndicator, Nav, ThemeToggle, useEscape, useMediaQuery } from "./components/chrome";
import { Loading, Toasts } from "./components/ui";
import { useRoute } from "./router";
import { session, signOut } from "./session";
import { useStore } from "./store";
import { Account, ChoosePassword } from "./views/Account";
import { Assistant } from "./views/Assistant";
import { Auth, Logo } from "./views/Auth";
import { Admin } from "./views/Admin";
import { BotDetail } from "./views/BotDetail";
import { BotForm } from "./views/BotForm";
import { Bots } from "./views/Bots";
import { Keys } from "./views/Keys";
import { Metrics } from "./views/Metrics";
import { Overview } from "./views/Overview";
import { Portfolio } from "./views/Portfolio";
import { Quarantine } from "./views/Quarantine";
import { Trades } from "./views/Trades";
import { Training } from "./views/Training";
import { NotFound } from "./views/NotFound";

export function App() {
  const { user, ready } = useStore(session);
  if (!ready) {
    return (
      <div class="boot">
        <Loading label="Starting botfleet…" />
      </div>
    );
  }
  return (
    <>
      {user ? (user.must_change_password ? <ChoosePassword /> : <Shell />) : <Auth />}
      <Toasts />
    </>
  );
}

function Shell() {
  const { user } = useStore(session);
  const route = useRoute();
  const narrow = useMediaQuery("(max-width: 760px)");
  const [menuOpen, setMenuOpen] = useState(false);
  const [assistantOpen, setAssistantOpen] = useState(false);
  const assistantButton = useRef<HTMLButtonElement>(null);
  const menuButton = useRef<HTMLButtonElement>(null);
  const first = useRef(true);

  // After a navigation: close the menu and move focus to the new page's heading (announced by screen readers).
  useEffect(() => {
    setMenuOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    requestAnimationFrame(() => document.getElementById("page-title")?.focus());
  }, [route.path]);

  const closeAssistant = useCallback(() => {
    setAssistantOpen(false);
    assistantButton.current?.focus();
  }, []);
  const closeMenu = useCallback(() => {
    setMenuOpen(false);
    menuButton.current?.focus();
  }, []);
  useEscape(assistantOpen, closeAssistant);
  useEscape(menuOpen && narrow, closeMenu);

  return (
    <div class={`shell ${assistantOpen ? "with-assistant" : ""}`}>
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("page-title")?.focus(); }}>
        Skip to content
      </a>
      <header class="topbar">
        {narrow && (
          <button ref={menuButton} type="button" class="icon menu-button" aria-expanded={menuOpen} aria-controls="main-nav"
            aria-label="Menu" onClick={() => setMenuOpen(!menuOpen)}>
            <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" /></svg>
          </button>
        )}
        <a class="brand" href="#/"><Logo /> <span>botfleet</span></a>
        <ConnectionIndicator />
        <div class="topbar-end">
          <ThemeToggle />
          <button ref={assistantButton} type="button" class="secondary assistant-button" aria-expanded={assistantOpen}
            aria-controls="assistant-panel" onClick={() => (assistantOpen ? closeAssistant() : setAssistantOpen(true))}>
            <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16v11H9l-5 4z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" /></svg>
            <span class={narrow ? "visually-hidden" : ""}>Assistant</span>
          </button>
          <details class="account">
            <summary>
              <span class="avatar" aria-hidden="true">{(user!.name || user!.email).slice(0, 1).toUpperCase()}</span>
              <span class={narrow ? "visually-hidden" : "account-name"}>{user!.name}</span>
              <span class="visually-hidden"> (account and sign out)</span>
            </summary>
            <div class="account-menu">
              <p>
                <strong>{user!.name}</strong>
                <br />
                <span class="muted small">{user!.email}</span>
                {user!.role === "admin" && <span class="pill admin">admin</span>}
              </p>
              <a class="button secondary block" href="#/account" onClick={(e) => { e.currentTarget.closest("details")?.removeAttribute("open"); }}>
                Change password
              </a>
              <button type="button" class="secondary block" onClick={() => void signOut()}>
                Sign out
              </button>
            </div>
          </details>
        </div>
      </header>
      <div class="body">
        <div class="nav-col">
          <Nav current={route.path} isAdmin={user!.role === "admin"} open={!narrow || menuOpen} onNavigate={() => setMenuOpen(false)} />
        </div>
        <main id="main" class="content">
          <View path={route.path} parts={route.parts} query={route.query} />
        </main>
        <Assistant open={assistantOpen} onClose={closeAssistant} />
      </div>
    </div>
  );
}

function View({ path, parts, query }: { path: string; parts: string[]; query: URLSearchParams }) {
  const { user } = useStore(session);
  const [section, id, sub] = parts;
  switch (section) {
    case undefined:
      return <Overview />;
    case "bots":
      if (id === "new") return <BotForm />;
      if (id && sub === "edit") return <BotForm botId={id} />;
      if (id) return <BotDetail id={id} key={id} />;
      return <Bots />;
    case "trades":
      return <Trades query={query} />;
    case "portfolio":
      return <Portfolio />;
    case "quarantine":
      return <Quarantine />;
    case "training":
      return <Training query={query} />;
    case "keys":
      return <Keys />;
    case "metrics":
      return <Metrics />;
    case "account":
      return <Account />;
    case "admin":
      return user?.role === "admin" ? <Admin tab={id} /> : <NotFound path={path} forbidden />;
    default:
      return <NotFound path={path} />;
  }
}
