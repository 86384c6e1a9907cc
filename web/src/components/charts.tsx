// Price (candles with the bot's buy/sell markers) and equity charts with TradingView's lightweight-charts,
// loaded on demand so the first page stays small. Their data comes from the "Charts" endpoints
// (GET /api/markets/{exchange}/{symbol}/candles, GET /api/bots/{id}/equity); while those answer 404 (not
// deployed yet, or no data recorded) the chart says so instead of drawing an empty grid.
import { useEffect, useRef, useState } from "preact/hooks";
import type { IChartApi, ISeriesApi, ISeriesMarkersPluginApi, SeriesMarker, Time, UTCTimestamp } from "lightweight-charts";
import { api, ApiError, Candle, EquityPoint, errorText, Trade } from "../api";
import { fullTime, money, quoteCurrency } from "../format";
import { effectiveTheme, cssVar } from "../theme";
import { Empty, Loading } from "./ui";

type Lib = typeof import("lightweight-charts");
let libPromise: Promise<Lib> | null = null;
const loadLib = () => (libPromise ??= import("lightweight-charts"));

const TIMEFRAME_SECONDS = 60;

/** Axis labels: grouped digits, fewer decimals for big prices (R 1,743,740 rather than 1743740.00). */
function priceLabel(value: number, currency: string): string {
  const digits = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 1 ? 2 : 6;
  const text = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 2) }).format(value);
  return currency ? `${text}` : text;
}

function toTime(iso: string): UTCTimestamp {
  return Math.floor(new Date(iso).getTime() / 1000) as UTCTimestamp;
}

const tickFormats = {
  time: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }),
  day: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }),
  year: new Intl.DateTimeFormat(undefined, { year: "numeric" }),
};

function themeOptions() {
  const ink = cssVar("--muted") || "#8b96a3";
  const grid = cssVar("--grid") || "#222a33";
  return {
    layout: { background: { color: "transparent" }, textColor: ink, attributionLogo: false },
    grid: { vertLines: { color: grid }, horzLines: { color: grid } },
    rightPriceScale: { borderColor: grid },
    timeScale: { borderColor: grid },
  };
}

function createThemedChart(lib: Lib, element: HTMLElement): IChartApi {
  const chart = lib.createChart(element, {
    autoSize: true,
    ...themeOptions(),
    // Times in the user's own zone (the library's default is UTC).
    localization: { timeFormatter: (time: Time) => fullTime(new Date((time as number) * 1000).toISOString()) },
    timeScale: {
      timeVisible: true,
      secondsVisible: false,
      tickMarkFormatter: (time: Time, type: number) => {
        const date = new Date((time as number) * 1000);
        return type <= 0 ? tickFormats.year.format(date) : type <= 2 ? tickFormats.day.format(date) : tickFormats.time.format(date);
      },
    },
    handleScroll: { mouseWheel: false, pressedMouseMove: true, horzTouchDrag: true, vertTouchDrag: false },
    handleScale: { mouseWheel: true, pinch: true, axisPressedMouseMove: true },
  });
  return chart;
}

type ChartState = { kind: "loading" } | { kind: "empty"; why: string } | { kind: "error"; message: string } | { kind: "ready" };

/** The bar a fill belongs to: the last candle at or before it (candles are stamped with their tick's time). */
function barFor(times: number[], at: number): number {
  if (!times.length) return Math.floor(at / TIMEFRAME_SECONDS) * TIMEFRAME_SECONDS;
  let lo = 0, hi = times.length - 1;
  if (at <= times[0]) return times[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return times[lo];
}

function markersFor(trades: Trade[], currency: string, times: number[]): SeriesMarker<Time>[] {
  return trades
    .map((t) => ({
      time: barFor(times, toTime(t.ts)) as UTCTimestamp,
      position: t.side === "buy" ? ("belowBar" as const) : ("aboveBar" as const),
      color: t.side === "buy" ? cssVar("--up") || "#2fbf71" : cssVar("--down") || "#e5534b",
      shape: t.side === "buy" ? ("arrowUp" as const) : ("arrowDown" as const),
      text: `${t.side === "buy" ? "B" : "S"} ${money(t.price, currency, true)}`,
      id: t.id,
    }))
    .sort((a, b) => a.time - b.time);
}

export function PriceChart({ exchange, symbol, trades }: { exchange: string; symbol: string; trades: Trade[] }) {
  const box = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const markersRef = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const seriesRef = useRef<ISeriesApi<"Candlestick"> | null>(null);
  const timesRef = useRef<number[]>([]);
  const [state, setState] = useState<ChartState>({ kind: "loading" });
  const [refresh, setRefresh] = useState(0);
  const currency = quoteCurrency(symbol);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const path = `/api/markets/${encodeURIComponent(exchange)}/${encodeURIComponent(symbol.replace("/", "-"))}/candles?timeframe=1m&limit=500`;
        const [reply, lib] = await Promise.all([api<{ items: Candle[] }>(path), loadLib()]);
        if (cancelled) return;
        if (!reply?.items?.length) {
          setState({ kind: "empty", why: "The market has no candles recorded yet." });
          return;
        }
        const data = reply.items
          .map((c) => ({ time: toTime(c.ts), open: +c.open, high: +c.high, low: +c.low, close: +c.close }))
          .sort((a, b) => a.time - b.time)
          .filter((c, i, all) => i === 0 || c.time !== all[i - 1].time);
        timesRef.current = data.map((c) => c.time);
        setState({ kind: "ready" });
        if (!chartRef.current && box.current) {
          chartRef.current = createThemedChart(lib, box.current);
          seriesRef.current = chartRef.current.addSeries(lib.CandlestickSeries, {
            upColor: cssVar("--up"), downColor: cssVar("--down"), borderVisible: false,
            wickUpColor: cssVar("--up"), wickDownColor: cssVar("--down"),
            priceFormat: { type: "custom", formatter: (v: number) => priceLabel(v, currency), minMove: 0.0001 },
          });
          markersRef.current = lib.createSeriesMarkers(seriesRef.current, []);
        }
        seriesRef.current?.setData(data);
        chartRef.current?.timeScale().fitContent();
      } catch (error) {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 404) setState({ kind: "empty", why: "Price history for this market is not available yet." });
        else setState({ kind: "error", message: errorText(error) });
      }
    })();
    return () => {
      cancelled = true;
    };
    // Read again on a new fill too: its tick recorded a candle.
  }, [exchange, symbol, refresh, trades[0]?.id]);

  // New candles every minute.
  useEffect(() => {
    const timer = setInterval(() => setRefresh((n) => n + 1), 60_000);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    if (state.kind === "ready") markersRef.current?.setMarkers(markersFor(trades, currency, timesRef.current));
  }, [trades, state.kind, currency, refresh]);

  useEffect(() => () => {
    chartRef.current?.remove();
    chartRef.current = null;
  }, []);

  useEffect(() => effectiveTheme.subscribe(() => chartRef.current?.applyOptions(themeOptions())), []);

  const buys = trades.filter((t) => t.side === "buy").length;
  return (
    <div class="chart-wrap">
      {state.kind === "loading" && <Loading label="Loading price chart…" />}
      {state.kind === "empty" && (
        <Empty title="No chart data yet">
          <p>{state.why} The trades below show every fill; the chart appears once candles are recorded.</p>
        </Empty>
      )}
      {state.kind === "error" && <p class="error" role="alert">The price chart could not load: {state.message}</p>}
      <div
        ref={box}
        class="chart"
        data-testid="price-chart"
        role="img"
        aria-label={`${symbol} price on ${exchange}, one-minute candles, with ${buys} buy and ${trades.length - buys} sell markers`}
        hidden={state.kind !== "ready"}
      />
    </div>
  );
}

export function EquityChart({ botId, currency, liveKey }: { botId: string; currency: string; liveKey?: unknown }) {
  const box = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const seriesRef = useRef<ISeriesApi<"Area"> | null>(null);
  const [state, setState] = useState<ChartState>({ kind: "loading" });
  const [last, setLast] = useState<EquityPoint | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const [reply, lib] = await Promise.all([api<{ items: EquityPoint[] }>(`/api/bots/${encodeURIComponent(botId)}/equity?limit=1000`), loadLib()]);
        if (cancelled) return;
        if (!reply?.items?.length) {
          setState({ kind: "empty", why: "The bot has no equity points yet: they are recorded as it trades." });
          return;
        }
        const data = reply.items
          .map((p) => ({ time: toTime(p.ts), value: +p.equity }))
          .sort((a, b) => a.time - b.time)
          .filter((p, i, all) => i === all.length - 1 || p.time !== all[i + 1].time);
        setState({ kind: "ready" });
        setLast(reply.items.reduce((a, b) => (a.ts > b.ts ? a : b)));
        if (!chartRef.current && box.current) {
          chartRef.current = createThemedChart(lib, box.current);
          const accent = cssVar("--accent") || "#4c9aff";
          seriesRef.current = chartRef.current.addSeries(lib.AreaSeries, {
            lineColor: accent, topColor: `${accent}55`, bottomColor: `${accent}05`, lineWidth: 2,
            priceFormat: { type: "custom", formatter: (v: number) => money(v, currency), minMove: 0.01 },
          });
        }
        seriesRef.current?.setData(data);
        chartRef.current?.timeScale().fitContent();
      } catch (error) {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 404) setState({ kind: "empty", why: "The equity curve is not available yet." });
        else setState({ kind: "error", message: errorText(error) });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [botId, liveKey, currency]);

  useEffect(() => () => {
    chartRef.current?.remove();
    chartRef.current = null;
  }, []);
  useEffect(() => effectiveTheme.subscribe(() => chartRef.current?.applyOptions(themeOptions())), []);

  return (
    <div class="chart-wrap">
      {state.kind === "loading" && <Loading label="Loading equity curve…" />}
      {state.kind === "empty" && (
        <Empty title="No chart data yet">
          <p>{state.why}</p>
        </Empty>
      )}
      {state.kind === "error" && <p class="error" role="alert">The equity chart could not load: {state.message}</p>}
      <div ref={box} class="chart" data-testid="equity-chart" role="img" hidden={state.kind !== "ready"}
        aria-label={last ? `Equity curve; latest ${money(last.equity, currency)} at ${fullTime(last.ts)}` : "Equity curve"} />
    </div>
  );
}
