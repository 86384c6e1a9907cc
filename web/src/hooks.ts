import { Component, FunctionComponent, h, RefObject } from "preact";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { live } from "./live";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  setData: (update: T | ((old: T | undefined) => T)) => void;
}

/** Load something when deps change; keeps the last data while reloading. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loader = useRef(load);
  loader.current = load;
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loader.current();
      if (mine === generation.current) {
        setData(() => value);
        setError(undefined);
      }
    } catch (e) {
      if (mine === generation.current) setError(e);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);
  useEffect(() => {
    void reload();
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  return { data, error, loading, reload, setData: setData as Async<T>["setData"] };
}

/** Run `handler` for each WebSocket message of `type` while mounted. */
export function useLive<T = any>(type: string, handler: (data: T) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => live.events.on(type, (data: T) => ref.current(data)), [type]);
}

/** A clock that re-renders every `ms` (for countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · botfleet`;
  }, [title]);
}

/** Like preact/compat's `memo` (re-render only when a prop changed, compared shallowly), without compat: its global
 * vnode hook would cost every element of the app on every render. */
export function memo<P extends object>(Inner: FunctionComponent<P>): FunctionComponent<P> {
  class Memo extends Component<P> {
    shouldComponentUpdate(next: P): boolean {
      const now = this.props as Record<string, unknown>, then = next as Record<string, unknown>;
      const keys = Object.keys(then);
      return keys.length !== Object.keys(now).length || keys.some((k) => now[k] !== then[k]);
    }

    render(props: P) {
      return h(Inner, props);
    }
  }
  return Memo as unknown as FunctionComponent<P>;
}

export interface RowWindow {
  start: number;
  end: number;
  rowHeight: number;
}

/** The rows of a long list worth rendering: those in or near the viewport (the page scrolls, not the list), so a
 * fleet of 500 bots is ~50 rows in the DOM. Row height is measured from the rows shown (cards on a phone are taller
 * than table rows); the rows above and below are spacers of that height. `enabled` false: every row. */
export function useRowWindow(body: RefObject<HTMLElement | null>, count: number, enabled: boolean, overscan = 15): RowWindow {
  const [range, setRange] = useState<RowWindow>({ start: 0, end: Math.min(count, 40), rowHeight: 48 });
  const current = useRef(range);
  current.current = range;
  useLayoutEffect(() => {
    if (!enabled) return;
    const update = () => {
      const element = body.current;
      if (!element) return;
      let rowHeight = current.current.rowHeight;
      const rows = element.querySelectorAll<HTMLElement>(":scope > tr[data-row]");
      if (rows.length > 1) {
        const measured = (rows[rows.length - 1].offsetTop - rows[0].offsetTop) / (rows.length - 1);
        if (measured > 0) rowHeight = measured;
      }
      const above = Math.max(0, -element.getBoundingClientRect().top);
      const first = Math.floor(above / rowHeight);
      const start = Math.max(0, Math.min(count, first - overscan));
      const end = Math.min(count, first + Math.ceil(innerHeight / rowHeight) + overscan);
      const old = current.current;
      if (start !== old.start || end !== old.end || Math.abs(rowHeight - old.rowHeight) > 0.5) setRange({ start, end, rowHeight });
    };
    let frame = 0;
    const soon = () => {
      if (!frame) frame = requestAnimationFrame(() => {
        frame = 0;
        update();
      });
    };
    update();
    addEventListener("scroll", soon, { passive: true });
    addEventListener("resize", soon);
    return () => {
      cancelAnimationFrame(frame);
      removeEventListener("scroll", soon);
      removeEventListener("resize", soon);
    };
  }, [enabled, count]);
  if (!enabled) return { start: 0, end: count, rowHeight: range.rowHeight };
  return { ...range, start: Math.min(range.start, count), end: Math.min(Math.max(range.end, range.start), count) };
}
