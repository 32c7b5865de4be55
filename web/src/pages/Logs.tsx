import { useEffect, useState } from "preact/hooks";
import { ApiError, query, request } from "../api";
import { PageHeader } from "../components/Layout";
import { Snippet } from "../components/Snippet";
import { SelectFilter } from "../components/SelectFilter";
import { EmptyState, ErrorState, Notice, SkeletonRows } from "../components/States";
import { cost, int, logTime, money, ms } from "../format";
import { asApiError, useAsync, useTitle } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useBalance, useBalancePolling } from "../session";
import type { ApiKey, Generation, GenerationStatus, Model, Page } from "../types";
import { LogDetail, StatusBadge } from "./LogDetail";

const PAGE_SIZE = 50;

interface Filters {
  model: string;
  provider: string;
  key_id: string;
  status: "" | GenerationStatus;
}

interface Choices {
  keys: Map<string, string>;
  models: string[];
  providers: string[];
}

async function loadChoices(): Promise<Choices> {
  const [keys, models] = await Promise.all([
    request<{ data: ApiKey[] }>("/keys").catch(() => ({ data: [] as ApiKey[] })),
    request<{ data: Model[] }>("/models").catch(() => ({ data: [] as Model[] })),
  ]);
  const providers = new Set<string>();
  for (const m of models.data) for (const e of m.endpoints) providers.add(e.provider);
  return {
    keys: new Map(keys.data.map((k) => [k.key_id, k.label || k.hint])),
    models: models.data.map((m) => m.id).sort(),
    providers: [...providers].sort(),
  };
}

export function Logs() {
  useTitle("Logs");
  useBalancePolling(10_000);
  const balance = useBalance();
  const { query: params } = useLocation();
  const openId = params.get("id");
  const [filters, setFilters] = useState<Filters>({ model: "", provider: "", key_id: "", status: "" });
  const choices = useAsync(loadChoices, []);
  const keyName = (id: string) => choices.data?.keys.get(id) ?? id;

  const first = useAsync(() => request<Page<Generation>>(`/generations${query({ limit: PAGE_SIZE, ...filters })}`), [filters.model, filters.provider, filters.key_id, filters.status]);
  const [more, setMore] = useState<Generation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);

  useEffect(() => {
    setMore([]);
    setMoreError(null);
    setCursor(first.data?.next_cursor ?? null);
  }, [first.data]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await request<Page<Generation>>(`/generations${query({ limit: PAGE_SIZE, cursor, ...filters })}`);
      setMore((rows) => [...rows, ...page.data]);
      setCursor(page.next_cursor);
    } catch (cause) {
      setMoreError(asApiError(cause));
    } finally {
      setLoadingMore(false);
    }
  };

  const rows = [...(first.data?.data ?? []), ...more];
  const filtering = Object.values(filters).some(Boolean);
  const set = (name: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [name]: value }));

  return (
    <>
      <PageHeader
        title="Logs"
        description="One row per request: metadata only. Prompts and completions are never stored."
        actions={
          <div class="live-balance" aria-live="polite">
            <span class="live-dot" aria-hidden="true" />
            <span class="muted">Balance</span>
            <strong class="num">{balance === null ? "…" : money(balance)}</strong>
          </div>
        }
      />
      <div class="card filters">
        <SelectFilter id="logs-model" label="Model" value={filters.model} onChange={set("model")} options={(choices.data?.models ?? []).map((m) => [m, m])} />
        <SelectFilter id="logs-provider" label="Provider" value={filters.provider} onChange={set("provider")} options={(choices.data?.providers ?? []).map((p) => [p, p])} />
        <SelectFilter id="logs-key" label="Key" value={filters.key_id} onChange={set("key_id")} options={[...(choices.data?.keys.entries() ?? [])]} />
        <SelectFilter
          id="logs-status"
          label="Status"
          value={filters.status}
          onChange={set("status")}
          options={[
            ["ok", "OK"],
            ["error", "Error"],
            ["cancelled", "Cancelled"],
          ]}
        />
        {filtering && (
          <button type="button" class="button button-ghost" onClick={() => setFilters({ model: "", provider: "", key_id: "", status: "" })}>
            Clear filters
          </button>
        )}
      </div>

      <div class="card card-flush">
        {first.loading && !first.data ? (
          <SkeletonRows rows={8} columns={9} />
        ) : first.error ? (
          <ErrorState error={first.error} onRetry={first.reload} />
        ) : rows.length === 0 ? (
          filtering ? (
            <EmptyState title="No requests match these filters" />
          ) : (
            <EmptyState title="No requests yet — make your first request with your key">
              <p class="state-text">Every request made with one of your keys appears here, newest first.</p>
              <Snippet />
            </EmptyState>
          )
        ) : (
          <div class="table-wrap">
            <table class="table table-hover logs-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Model · provider</th>
                  <th scope="col">Key</th>
                  <th scope="col" class="num">
                    In
                  </th>
                  <th scope="col" class="num">
                    Out
                  </th>
                  <th scope="col" class="num">
                    Cached
                  </th>
                  <th scope="col" class="num">
                    Reasoning
                  </th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num">
                    Latency
                  </th>
                  <th scope="col" class="num">
                    TTFT
                  </th>
                  <th scope="col">Cache</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((g) => (
                  <tr
                    key={g.id}
                    data-testid="log-row"
                    class={openId === g.id ? "selected" : undefined}
                    tabIndex={0}
                    onClick={() => setQuery({ id: g.id })}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" || e.key === " ") {
                        e.preventDefault();
                        setQuery({ id: g.id });
                      }
                    }}
                  >
                    <td title={g.created_at}>{logTime(g.created_at)}</td>
                    <td>
                      <span class="mono small">{g.model}</span>
                      <span class="cell-sub">{g.provider}</span>
                    </td>
                    <td class="truncate" title={g.key_id}>
                      {keyName(g.key_id)}
                    </td>
                    <td class="num">{int(g.prompt_tokens)}</td>
                    <td class="num">{int(g.completion_tokens)}</td>
                    <td class="num">{int(g.cached_tokens)}</td>
                    <td class="num">{int(g.reasoning_tokens)}</td>
                    <td class="num">{cost(g.cost)}</td>
                    <td class="num">{ms(g.latency_ms)}</td>
                    <td class="num">{ms(g.ttft_ms)}</td>
                    <td>
                      <span class={g.cache === "HIT" ? "badge badge-accent" : "badge badge-neutral"}>{g.cache}</span>
                    </td>
                    <td>
                      <StatusBadge status={g.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      {moreError && (
        <Notice kind="error" testid="error">
          {moreError.message}
        </Notice>
      )}
      {cursor && rows.length > 0 && (
        <div class="load-more">
          <button type="button" class="button" onClick={loadMore} disabled={loadingMore} data-testid="load-more">
            {loadingMore ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
      {openId && <LogDetail id={openId} keyName={keyName} onClose={() => setQuery({ id: null })} />}
    </>
  );
}
