import { useMemo, useState } from "preact/hooks";
import { ApiError, query, request, requestRaw } from "../api";
import { PageHeader } from "../components/Layout";
import { SelectFilter } from "../components/SelectFilter";
import { StackedBars, type Series } from "../components/StackedBars";
import { EmptyState, ErrorState, Notice, SkeletonCards } from "../components/States";
import { daysAgo, int, isoDay, money } from "../format";
import { asApiError, useAsync, useTitle } from "../hooks";
import type { Activity as ActivityData, ActivityRow, ApiKey } from "../types";

type Split = "model" | "provider" | "key_id";
type Preset = "7" | "30" | "90" | "custom";
const MAX_SERIES = 8;

async function loadKeyLabels(): Promise<Map<string, string>> {
  try {
    const { data } = await request<{ data: ApiKey[] }>("/keys");
    return new Map(data.map((k) => [k.key_id, k.label || k.hint]));
  } catch {
    return new Map(); // Labels are a nicety; ids still identify the keys.
  }
}

function dayRange(from: string, to: string): string[] {
  const days: string[] = [];
  const end = new Date(`${to}T00:00:00Z`);
  for (let d = new Date(`${from}T00:00:00Z`); d <= end && days.length < 400; d.setUTCDate(d.getUTCDate() + 1)) days.push(isoDay(d));
  return days;
}

const shortDay = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
/** Dollar ticks that all share the decimals their step needs: $0.000005, $0.000010, … or $0.50, $1.00, … or $5, $10. */
const usdTick = (v: number, step: number) => {
  if (v === 0) return "$0";
  const decimals = step >= 1 && Number.isInteger(step) ? 0 : Math.min(8, Math.max(2, Math.ceil(-Math.log10(step || Math.abs(v)) - 1e-9)));
  return `$${v.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })}`;
};
/** A day's spend in the tooltip: the same rule as every other amount on the page. */
const usdValue = (v: number) => money(String(v));
const compactAxis = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const countAxis = (v: number) => compactAxis.format(v);
const countValue = (v: number) => int(v);

interface Charts {
  labels: string[];
  spend: Series[];
  tokens: Series[];
  requests: Series[];
  totals: { cost: number; tokens: number; requests: number; prompt: number; completion: number };
}

function buildCharts(rows: ActivityRow[], days: string[], name: (row: ActivityRow) => string): Charts {
  const byGroupCost = new Map<string, number>();
  for (const row of rows) byGroupCost.set(name(row), (byGroupCost.get(name(row)) ?? 0) + Number(row.cost) + row.requests * 1e-12);
  const ranked = [...byGroupCost.entries()].sort((a, b) => b[1] - a[1]).map(([group]) => group);
  const kept = new Set(ranked.slice(0, ranked.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES));
  const groups = ranked.filter((g) => kept.has(g));
  if (ranked.length > kept.size) groups.push("Other");

  const index = new Map(days.map((d, i) => [d, i]));
  const blank = () => new Map(groups.map((g) => [g, new Array<number>(days.length).fill(0)]));
  const spend = blank();
  const tokens = blank();
  const requests = blank();
  const totals = { cost: 0, tokens: 0, requests: 0, prompt: 0, completion: 0 };
  for (const row of rows) {
    const day = index.get(row.date.slice(0, 10));
    if (day === undefined) continue;
    const group = kept.has(name(row)) ? name(row) : "Other";
    spend.get(group)![day] += Number(row.cost);
    tokens.get(group)![day] += row.prompt_tokens + row.completion_tokens;
    requests.get(group)![day] += row.requests;
    totals.cost += Number(row.cost);
    totals.tokens += row.prompt_tokens + row.completion_tokens;
    totals.prompt += row.prompt_tokens;
    totals.completion += row.completion_tokens;
    totals.requests += row.requests;
  }
  const series = (m: Map<string, number[]>) => groups.map((g) => ({ label: g, values: m.get(g)! }));
  return {
    labels: days.map((d) => shortDay.format(new Date(`${d}T00:00:00Z`))),
    spend: series(spend),
    tokens: series(tokens),
    requests: series(requests),
    totals,
  };
}

export function Activity() {
  useTitle("Activity");
  const today = daysAgo(0);
  const [preset, setPreset] = useState<Preset>("30");
  const [customFrom, setCustomFrom] = useState(daysAgo(29));
  const [customTo, setCustomTo] = useState(today);
  const [split, setSplit] = useState<Split>("model");
  const [model, setModel] = useState("");
  const [provider, setProvider] = useState("");
  const [keyId, setKeyId] = useState("");
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<ApiError | null>(null);

  const from = preset === "custom" ? customFrom : daysAgo(Number(preset) - 1);
  const to = preset === "custom" ? customTo : today;
  const rangeError = preset === "custom" && (!from || !to || from > to) ? "The start date must be on or before the end date." : null;

  const activity = useAsync(async () => {
    if (rangeError) throw new ApiError(400, "invalid_range", rangeError);
    return request<ActivityData>(`/activity${query({ from, to })}`);
  }, [from, to]);
  const labels = useAsync(loadKeyLabels, []);
  const keyName = (id: string) => labels.data?.get(id) ?? id;

  const rows = activity.data?.data ?? [];
  const options = useMemo(() => {
    const distinct = (pick: (r: ActivityRow) => string) => [...new Set(rows.map(pick))].sort();
    return { models: distinct((r) => r.model), providers: distinct((r) => r.provider), keys: distinct((r) => r.key_id) };
  }, [rows]);
  const filtered = useMemo(
    () => rows.filter((r) => (!model || r.model === model) && (!provider || r.provider === provider) && (!keyId || r.key_id === keyId)),
    [rows, model, provider, keyId],
  );
  const charts = useMemo(
    () => buildCharts(filtered, dayRange(from, to), (row) => (split === "key_id" ? keyName(row.key_id) : row[split])),
    [filtered, from, to, split, labels.data],
  );

  const exportCsv = async () => {
    setExporting(true);
    setExportError(null);
    try {
      const response = await requestRaw(`/activity${query({ format: "csv", from, to })}`);
      const blob = await response.blob();
      const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") ?? "");
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = named?.[1] ?? `onerouter-activity-${from}-to-${to}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (cause) {
      setExportError(asApiError(cause));
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <PageHeader
        title="Activity"
        description="Spend, tokens and requests per day (UTC)."
        actions={
          <>
            <div class="segmented" role="group" aria-label="Date range">
              {(["7", "30", "90"] as const).map((p) => (
                <button type="button" key={p} class={preset === p ? "active" : undefined} aria-pressed={preset === p} onClick={() => setPreset(p)}>
                  {p} days
                </button>
              ))}
              <button type="button" class={preset === "custom" ? "active" : undefined} aria-pressed={preset === "custom"} onClick={() => setPreset("custom")}>
                Custom
              </button>
            </div>
            <button type="button" class="button" onClick={exportCsv} disabled={exporting || rangeError !== null} data-testid="export-csv">
              {exporting ? "Exporting…" : "Export CSV"}
            </button>
          </>
        }
      />
      {exportError && (
        <Notice kind="error" testid="error">
          Export failed: {exportError.message}
        </Notice>
      )}
      <div class="card filters">
        {preset === "custom" && (
          <>
            <div class="field field-inline">
              <label for="activity-from">From</label>
              <input id="activity-from" type="date" value={customFrom} max={today} onInput={(e) => setCustomFrom(e.currentTarget.value)} />
            </div>
            <div class="field field-inline">
              <label for="activity-to">To</label>
              <input id="activity-to" type="date" value={customTo} max={today} onInput={(e) => setCustomTo(e.currentTarget.value)} />
            </div>
          </>
        )}
        <div class="field field-inline">
          <label for="activity-split">Split by</label>
          <select id="activity-split" value={split} onChange={(e) => setSplit(e.currentTarget.value as Split)}>
            <option value="model">Model</option>
            <option value="provider">Provider</option>
            <option value="key_id">Key</option>
          </select>
        </div>
        <SelectFilter id="activity-model" label="Model" value={model} onChange={setModel} options={options.models.map((m) => [m, m])} />
        <SelectFilter id="activity-provider" label="Provider" value={provider} onChange={setProvider} options={options.providers.map((p) => [p, p])} />
        <SelectFilter id="activity-key" label="Key" value={keyId} onChange={setKeyId} options={options.keys.map((k) => [k, keyName(k)])} />
      </div>

      {activity.loading && !activity.data ? (
        <>
          <SkeletonCards count={3} />
          <div class="card chart-card">
            <span class="skeleton skeleton-chart" />
          </div>
        </>
      ) : activity.error ? (
        <div class="card">
          <ErrorState error={activity.error} onRetry={activity.reload} />
        </div>
      ) : (
        <>
          <div class="stats">
            <div class="card stat">
              <span class="stat-label">Spend</span>
              <span class="stat-value num" data-testid="activity-total-spend">
                {/* The API's exact total when nothing is filtered out; a display sum otherwise. */}
                {money(filtered.length === rows.length && activity.data ? activity.data.total_cost : String(charts.totals.cost))}
              </span>
            </div>
            <div class="card stat">
              <span class="stat-label">Tokens</span>
              <span class="stat-value num">{int(charts.totals.tokens)}</span>
              <span class="stat-sub num">
                {int(charts.totals.prompt)} in · {int(charts.totals.completion)} out
              </span>
            </div>
            <div class="card stat">
              <span class="stat-label">Requests</span>
              <span class="stat-value num">{int(charts.totals.requests)}</span>
            </div>
          </div>
          {filtered.length === 0 && (
            <div class="card">
              <EmptyState title={rows.length ? "No activity matches these filters" : "No activity in this period"}>
                <p class="state-text">{rows.length ? "Clear a filter to see more." : "Requests made with your keys show up here within a minute."}</p>
              </EmptyState>
            </div>
          )}
          <div class={filtered.length === 0 ? "charts charts-empty" : "charts"} aria-busy={activity.loading}>
            <section class="card chart-card" aria-labelledby="chart-spend">
              <h2 id="chart-spend" class="card-title">
                Spend (USD)
              </h2>
              <StackedBars labels={charts.labels} series={charts.spend} format={usdValue} tick={usdTick} testid="activity-chart-spend" title="Spend per day in US dollars" />
            </section>
            <section class="card chart-card" aria-labelledby="chart-tokens">
              <h2 id="chart-tokens" class="card-title">
                Tokens (prompt + completion)
              </h2>
              <StackedBars labels={charts.labels} series={charts.tokens} format={countValue} tick={countAxis} integer testid="activity-chart-tokens" title="Tokens per day" />
            </section>
            <section class="card chart-card" aria-labelledby="chart-requests">
              <h2 id="chart-requests" class="card-title">
                Requests
              </h2>
              <StackedBars labels={charts.labels} series={charts.requests} format={countValue} tick={countAxis} integer testid="activity-chart-requests" title="Requests per day" />
            </section>
          </div>
        </>
      )}
    </>
  );
}
