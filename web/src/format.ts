// Display formatting only: amounts stay decimal strings everywhere else.

const usd2 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd4 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });
const usdSmall = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 3 });
const price = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 6 });
const integer = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const DASH = "—";

/** A balance or total: cents, with more digits only when the amount is below a cent's worth. */
export function money(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return DASH;
  const n = Number(value);
  if (!Number.isFinite(n)) return value;
  if (n === 0) return usd2.format(0);
  const abs = Math.abs(n);
  if (abs >= 1) return usd2.format(n);
  if (abs >= 0.01) return usd4.format(n);
  return usdSmall.format(n);
}

/** Cost of one request: fractions of a cent are the norm. */
export function cost(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return DASH;
  const n = Number(value);
  if (!Number.isFinite(n)) return value;
  if (n === 0) return "$0";
  return Math.abs(n) >= 0.01 ? usd4.format(n) : usdSmall.format(n);
}

/** A price per million tokens. */
export function perMillion(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return DASH;
  const n = Number(value);
  return Number.isFinite(n) ? price.format(n) : value;
}

export function int(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : integer.format(value);
}

export function tokens(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return value >= 100_000 ? compact.format(value) : integer.format(value);
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${integer.format(Math.round(value))} ms`;
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return `${(value * 100).toFixed(value >= 0.999 || value === 0 ? 0 : 1)}%`;
}

export function throughput(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return `${Math.round(value)} tok/s`;
}

const dateFmt = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric" });
const dateTimeFmt = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export function date(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

/** YYYY-MM-DD of a Date in UTC, the calendar the API's days are in. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function daysAgo(n: number, from: Date = new Date()): string {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - n);
  return isoDay(d);
}

const timeFmt = new Intl.DateTimeFormat("en-US", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const dayTimeFmt = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });

/** Today's requests by their time alone; older ones with the day. */
export function logTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dayTimeFmt.format(d);
}
