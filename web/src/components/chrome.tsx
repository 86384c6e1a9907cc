// The frame around every view: header (menu, connection indicator, theme, assistant, account), navigation.
import { useEffect, useState } from "preact/hooks";
import { live } from "../live";
import { useNow } from "../hooks";
import { href } from "../router";
import { useStore } from "../store";
import { effectiveTheme, toggleTheme } from "../theme";

export function ThemeToggle() {
  const theme = useStore(effectiveTheme);
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button type="button" class="icon theme-toggle" onClick={toggleTheme} aria-label={`Switch to ${next} theme`} title={`Switch to ${next} theme`}>
      {theme === "dark" ? (
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="5" fill="currentColor" /><g stroke="currentColor" stroke-width="2">{[0, 45, 90, 135, 180, 225, 270, 315].map((a) => <line key={a} x1="12" y1="1.5" x2="12" y2="4" transform={`rotate(${a} 12 12)`} />)}</g></svg>
      ) : (
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><path d="M20 14.5A8.5 8.5 0 1 1 9.5 4a7 7 0 0 0 10.5 10.5z" fill="currentColor" /></svg>
      )}
    </button>
  );
}

export function ConnectionIndicator() {
  const status = useStore(live.status);
  const now = useNow(1000);
  const seconds = status.retryAt ? Math.max(0, Math.ceil((status.retryAt - now) / 1000)) : 0;
  const label =
    status.state === "live" ? "Live"
    : status.state === "connecting" ? "Connecting…"
    : status.state === "offline" ? "Offline"
    : status.state === "reconnecting" ? (seconds > 0 ? `Reconnecting in ${seconds} s` : "Reconnecting…")
    : "Not connected";
  const canRetry = status.state === "reconnecting" || status.state === "offline";
  return (
    <div class={`conn ${status.state}`} data-testid="connection" data-state={status.state}>
      <span class="dot" aria-hidden="true" />
      <span role="status" aria-live="polite" class="conn-label">
        <span class="visually-hidden">Live updates: </span>
        {label}
      </span>
      {canRetry && (
        <button type="button" class="link small" onClick={() => live.retryNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}

export interface NavItem {
  path: string;
  label: string;
  icon: string;
}

export const NAV: NavItem[] = [
  { path: "/", label: "Overview", icon: "M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z" },
  { path: "/bots", label: "Bots", icon: "M12 2a2 2 0 0 1 2 2c0 .7-.4 1.4-1 1.7V7h4a3 3 0 0 1 3 3v8a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3v-8a3 3 0 0 1 3-3h4V5.7A2 2 0 0 1 12 2zM9 12a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm6 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z" },
  { path: "/trades", label: "Trades", icon: "M7 4 3 8l4 4V9h7V7H7V4zm10 8v3h-7v2h7v3l4-4-4-4z" },
  { path: "/portfolio", label: "Portfolio", icon: "M4 6h16v12H4zM4 10h16M8 6V4h8v2" },
  { path: "/quarantine", label: "Quarantine", icon: "M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3z" },
  { path: "/training", label: "Training", icon: "M3 17l6-6 4 4 8-8M14 7h7v7" },
  { path: "/keys", label: "API keys", icon: "M14 3a7 7 0 0 0-6.7 9L2 17.3V22h4.7l.8-.8V19h2.2l1.3-1.3V15.5h2.2l.4-.4A7 7 0 1 0 14 3zm2.5 3a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5z" },
  { path: "/metrics", label: "Metrics", icon: "M4 20V10M10 20V4M16 20v-7M22 20H2" },
];

export const ADMIN_NAV: NavItem = { path: "/admin", label: "Admin", icon: "M12 1 3 5v6c0 5.5 3.8 10.7 9 12 5.2-1.3 9-6.5 9-12V5l-9-4zm0 6a3 3 0 1 1 0 6 3 3 0 0 1 0-6zm0 8c2.7 0 5 1.3 5 3v.5H7V18c0-1.7 2.3-3 5-3z" };

export function Nav({ current, isAdmin, open, onNavigate }: { current: string; isAdmin: boolean; open: boolean; onNavigate: () => void }) {
  const items = isAdmin ? [...NAV, ADMIN_NAV] : NAV;
  return (
    <nav id="main-nav" class={`nav ${open ? "open" : ""}`} aria-label="Main">
      <ul>
        {items.map((item) => {
          const active = item.path === "/" ? current === "/" : current === item.path || current.startsWith(`${item.path}/`);
          return (
            <li key={item.path}>
              <a href={href(item.path)} aria-current={active ? "page" : undefined} onClick={onNavigate}>
                <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                  <path d={item.icon} fill="none" stroke="currentColor" stroke-width="1.7" stroke-linejoin="round" stroke-linecap="round" />
                </svg>
                <span>{item.label}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** Close a popover-ish panel on Escape, returning focus to its opener. */
export function useEscape(active: boolean, close: () => void): void {
  useEffect(() => {
    if (!active) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) close();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [active, close]);
}

export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const media = matchMedia(query);
    const change = () => setMatches(media.matches);
    media.addEventListener("change", change);
    return () => media.removeEventListener("change", change);
  }, [query]);
  return matches;
}
