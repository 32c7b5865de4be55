import { useMemo, useState } from "preact/hooks";
import { request } from "../api";
import { PageHeader } from "../components/Layout";
import { EmptyState, ErrorState, SkeletonRows } from "../components/States";
import { DASH, ms, percent, perMillion, throughput } from "../format";
import { useAsync, useTitle } from "../hooks";
import type { Model, ModelStats } from "../types";

interface Catalog {
  models: Model[];
  stats: Map<string, ModelStats>;
  statsMissing: boolean;
}

const contextK = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
const contextLength = (n: number) => contextK.format(n);

const statKey = (model: string, provider: string) => `${model}\u0000${provider}`;

async function loadCatalog(): Promise<Catalog> {
  const [models, stats] = await Promise.all([
    request<{ data: Model[] }>("/models"),
    // The numbers are a bonus: the table still shows prices without them.
    request<{ data: ModelStats[] }>("/models/stats").catch(() => null),
  ]);
  const byEndpoint = new Map<string, ModelStats>();
  for (const row of stats?.data ?? []) byEndpoint.set(statKey(row.model, row.provider), row);
  return { models: models.data, stats: byEndpoint, statsMissing: stats === null };
}

export function Models() {
  useTitle("Models");
  const catalog = useAsync(loadCatalog, []);
  const [search, setSearch] = useState("");

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const models = catalog.data?.models ?? [];
    return needle ? models.filter((m) => m.name.toLowerCase().includes(needle) || m.id.toLowerCase().includes(needle)) : models;
  }, [catalog.data, search]);

  return (
    <>
      <PageHeader
        title="Models"
        description="Every model you can call through OneRouter, each provider's price per million tokens, and how it performed over the last 24 hours."
      />
      <div class="toolbar">
        <div class="field field-inline search-field">
          <label for="model-search" class="visually-hidden">
            Search models
          </label>
          <input id="model-search" type="search" placeholder="Search models by name…" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
        {catalog.data && (
          <span class="muted">
            {shown.length} of {catalog.data.models.length} models
          </span>
        )}
      </div>
      <div class="card card-flush">
        {catalog.loading && !catalog.data ? (
          <SkeletonRows rows={8} columns={8} />
        ) : catalog.error ? (
          <ErrorState error={catalog.error} onRetry={catalog.reload} />
        ) : shown.length === 0 ? (
          <EmptyState title={search ? `No model matches “${search}”` : "No models are configured"} />
        ) : (
          <ModelTable models={shown} stats={catalog.data!.stats} />
        )}
      </div>
      {catalog.data?.statsMissing && <p class="muted footnote">Latency and throughput figures are not available right now.</p>}
    </>
  );
}

const PRICE_COLUMNS: [string, string][] = [
  ["Prompt", "USD per million prompt tokens"],
  ["Completion", "USD per million completion tokens"],
  ["Cache read", "USD per million cached prompt tokens read"],
  ["Cache write", "USD per million prompt tokens written to the cache"],
];
const STAT_COLUMNS: [string, string][] = [
  ["p50 latency", "Median time to the whole answer, last 24 hours"],
  ["p50 TTFT", "Median time to the first token, last 24 hours"],
  ["Throughput", "Median output tokens per second, last 24 hours"],
  ["Success", "Share of requests that succeeded, last 24 hours"],
];

/** One group per model: a heading row with what the model is, then a row per provider. */
function ModelTable({ models, stats }: { models: Model[]; stats: Map<string, ModelStats> }) {
  const span = PRICE_COLUMNS.length + STAT_COLUMNS.length + 1;
  const header = (columns: [string, string][], group: string) =>
    columns.map(([name, help], i) => (
      <th scope="col" class={i === 0 ? `num ${group} group-start` : `num ${group}`} title={help} key={name}>
        {name}
      </th>
    ));
  return (
    <div class="table-wrap">
      <table class="table models-table">
        <thead>
          <tr class="group-row">
            <th scope="col" rowSpan={2} class="provider-head">
              Provider
            </th>
            <th scope="colgroup" colSpan={PRICE_COLUMNS.length} class="group-start">
              <span class="group-label">Price per 1M tokens</span>
            </th>
            <th scope="colgroup" colSpan={STAT_COLUMNS.length} class="group-start">
              <span class="group-label">Last 24 hours</span>
            </th>
          </tr>
          <tr>
            {header(PRICE_COLUMNS, "col-price")}
            {header(STAT_COLUMNS, "col-stat")}
          </tr>
        </thead>
        {models.map((model) => (
          <tbody key={model.id} class="model-group" data-testid="model-row">
            <tr class="model-heading">
              <th scope="colgroup" colSpan={span}>
                <span class="model-name">{model.name}</span>
                <span class="model-id mono">{model.id}</span>
                <span class="chip" title="Context length in tokens">
                  {contextLength(model.context_length)} context
                </span>
                {model.architecture.input_modalities.map((m) => (
                  <span class="chip" key={m}>
                    {m}
                  </span>
                ))}
                {!model.available && <span class="chip chip-warning">unavailable</span>}
              </th>
            </tr>
            {model.endpoints.map((endpoint) => {
              const stat = stats.get(statKey(model.id, endpoint.provider));
              return (
                <tr key={endpoint.provider} class={endpoint.available ? undefined : "row-muted"}>
                  <td>
                    <span class="provider">{endpoint.provider}</span>
                    {endpoint.trains_on_prompts && (
                      <span class="chip chip-warning" title="This provider may train on prompts; used only if your account allows it">
                        may train
                      </span>
                    )}
                    {!endpoint.available && <span class="chip">unavailable</span>}
                  </td>
                  <td class="num group-start">{perMillion(endpoint.pricing.prompt)}</td>
                  <td class="num">{perMillion(endpoint.pricing.completion)}</td>
                  <td class="num">{perMillion(endpoint.pricing.input_cache_read)}</td>
                  <td class="num">{perMillion(endpoint.pricing.input_cache_write)}</td>
                  <td class="num group-start">{stat ? ms(stat.p50_latency_ms) : DASH}</td>
                  <td class="num">{stat ? ms(stat.p50_ttft_ms) : DASH}</td>
                  <td class="num">{stat ? throughput(stat.throughput) : DASH}</td>
                  <td class="num">{stat ? percent(stat.success_rate) : DASH}</td>
                </tr>
              );
            })}
          </tbody>
        ))}
      </table>
    </div>
  );
}
