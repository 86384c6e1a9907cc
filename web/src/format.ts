// Amounts per currency (Intl.NumberFormat) and times in the user's own zone (Intl.DateTimeFormat).
// Amounts arrive as decimal strings; they are shown, never computed with, so Number() is fine here.

const moneyFormats = new Map<string, Intl.NumberFormat>();
const CRYPTO_DIGITS = 8;

/** `digits`: the most fraction digits to show (a price's own), instead of the currency's usual. */
function moneyFormat(currency: string, compact = false, digits?: number): Intl.NumberFormat {
  const key = `${currency}|${compact}|${digits ?? ""}`;
  let format = moneyFormats.get(key);
  if (!format) {
    try {
      // ISO 4217 currencies (ZAR, USD, EUR …) get their symbol and their own minor units.
      format = new Intl.NumberFormat(undefined, { style: "currency", currency, currencyDisplay: "narrowSymbol",
        ...(compact ? { notation: "compact", maximumFractionDigits: 1 } : digits ? { maximumFractionDigits: digits } : {}) });
    } catch {
      // Crypto "currencies" (USDT, BTC) are not ISO codes: a number and the code after it.
      format = new Intl.NumberFormat(undefined, compact ? { notation: "compact", maximumFractionDigits: 1 }
        : { minimumFractionDigits: 2, maximumFractionDigits: digits ?? (isStable(currency) ? 2 : CRYPTO_DIGITS) });
      (format as any).suffix = ` ${currency}`;
    }
    moneyFormats.set(key, format);
  }
  return format;
}

function formatted(format: Intl.NumberFormat, value: number): string {
  return format.format(value) + ((format as any).suffix ?? "");
}

function isStable(currency: string): boolean {
  return ["USDT", "USDC", "BUSD", "DAI", "TUSD"].includes(currency.toUpperCase());
}

export function money(amount: string | number | null | undefined, currency: string | undefined, compact = false): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const value = Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  if (!currency) return number(value);
  return formatted(moneyFormat(currency, compact), value);
}

/** A price as precise as the market quotes it: USDT/ZAR at 18.237 is R 18.237, not R 18.24 (the currency's own
 * minor units are the least shown; the decimal string's own digits, up to 8, the most). */
export function price(amount: string | null | undefined, currency: string | undefined): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const digits = Math.min(CRYPTO_DIGITS, (String(amount).split(".")[1] ?? "").replace(/0+$/, "").length);
  const value = Number(amount);
  if (!currency || !Number.isFinite(value) || digits <= 2) return money(amount, currency);
  return formatted(moneyFormat(currency, false, digits), value);
}

/** A signed amount: +R 12.50 / −R 3.10, for P&L. */
export function signedMoney(amount: string | number | null | undefined, currency: string | undefined): string {
  const value = Number(amount);
  if (!Number.isFinite(value) || amount === null || amount === undefined) return "—";
  const text = money(Math.abs(value), currency);
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

export function pnlClass(amount: string | number | null | undefined): string {
  const value = Number(amount);
  return value > 0 ? "up" : value < 0 ? "down" : "";
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: CRYPTO_DIGITS });

export function number(amount: string | number | null | undefined, maxDigits = CRYPTO_DIGITS): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const value = Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  return maxDigits === CRYPTO_DIGITS ? numberFormat.format(value)
    : new Intl.NumberFormat(undefined, { maximumFractionDigits: maxDigits }).format(value);
}

/** An asset amount with its code: 0.0286 BTC. */
export function asset(amount: string | number | null | undefined, code: string): string {
  return `${number(amount)} ${code}`;
}

export function percent(value: string | number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? `${new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(n)} %` : "—";
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const shortDateTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeOnly.format(date) : dateTime.format(date);
}

export function fullTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function shortTime(seconds: number): string {
  return shortDateTime.format(new Date(seconds * 1000));
}

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** 3725 → "1 h 02 min 05 s" */
export function duration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min ${String(sec).padStart(2, "0")} s`;
  if (m) return `${m} min ${String(sec).padStart(2, "0")} s`;
  return `${sec} s`;
}

export function ladderLabel(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function baseCurrency(symbol: string): string {
  return symbol.split("/")[0] ?? symbol;
}

export function quoteCurrency(symbol: string): string {
  return symbol.split("/")[1] ?? "";
}

export function humanize(code: string | null | undefined): string {
  if (!code) return "";
  const text = code.replace(/[_.]/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
