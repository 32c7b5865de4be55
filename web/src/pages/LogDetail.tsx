import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { query, request } from "../api";
import { ErrorState, Spinner } from "../components/States";
import { cost, DASH, dateTime, int, ms } from "../format";
import { useAsync } from "../hooks";
import type { Generation, GenerationStatus } from "../types";

export function StatusBadge({ status }: { status: GenerationStatus }) {
  const kind = status === "ok" ? "badge-success" : status === "error" ? "badge-danger" : "badge-warning";
  return <span class={`badge ${kind}`}>{status === "ok" ? "OK" : status === "error" ? "Error" : "Cancelled"}</span>;
}

// The parts of `cost_details`, as the API names them.
const COST_PARTS: Record<string, string> = {
  prompt_cost: "Prompt",
  completion_cost: "Completion",
  prompt_cache_read_cost: "Cache read",
  prompt_cache_write_cost: "Cache write",
  request_cost: "Per request",
  image_cost: "Images",
  reasoning_cost: "Reasoning",
};
// With the caller's own key: what the provider bills them, never part of our total.
const UPSTREAM = "upstream_inference_cost";

/** A side panel with everything the gateway recorded about one request. */
export function LogDetail({ id, keyName, onClose }: { id: string; keyName: (id: string) => string; onClose: () => void }) {
  const generation = useAsync(async () => (await request<{ data: Generation }>(`/generation${query({ id })}`)).data, [id]);
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    closeButton.current?.focus();
    return () => before?.focus?.();
  }, []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  const g = generation.data;
  return (
    <>
      <div class="drawer-backdrop" onClick={onClose} aria-hidden="true" />
      <div class="drawer" role="dialog" aria-modal="true" aria-labelledby="detail-title" data-testid="log-detail">
        <div class="drawer-head">
          <h2 id="detail-title">Request details</h2>
          <button type="button" class="button button-ghost" onClick={onClose} aria-label="Close details" ref={closeButton}>
            ✕
          </button>
        </div>
        {generation.loading && !g ? (
          <Spinner label="Loading request" />
        ) : generation.error ? (
          <ErrorState error={generation.error} onRetry={generation.reload} />
        ) : g ? (
          <div class="drawer-body">
            <dl class="details">
              <Row term="Generation id" value={<span class="mono small">{g.id}</span>} />
              <Row term="Time" value={dateTime(g.created_at)} />
              <Row term="Status" value={<StatusBadge status={g.status} />} />
              <Row term="Model" value={<span class="mono small">{g.model}</span>} />
              <Row term="Provider" value={g.provider} />
              {g.failed_attempts && g.failed_attempts.length > 0 && (
                <Row
                  term="Fell back from"
                  value={g.failed_attempts
                    .map((a) => (a.model === g.model ? a.provider : `${a.provider} (${a.model})`))
                    .join(", ")}
                />
              )}
              <Row term="Provider model" value={<span class="mono small">{g.provider_model}</span>} />
              <Row term="Key" value={keyName(g.key_id)} />
              <Row term="Provider key" value={g.is_byok ? "Yours (the provider bills you)" : "OneRouter's"} />
              <Row term="Streamed" value={g.streamed ? "Yes" : "No"} />
              <Row term="Cache" value={g.cache} />
              <Row term="Finish reason" value={g.finish_reason ?? DASH} />
            </dl>
            <h3>Tokens{g.estimated && <span class="chip chip-warning">estimated</span>}</h3>
            <dl class="details">
              <Row term="Prompt" value={int(g.prompt_tokens)} num />
              <Row term="Completion" value={int(g.completion_tokens)} num />
              <Row term="Cached (read)" value={int(g.cached_tokens)} num />
              <Row term="Cache write" value={int(g.cache_write_tokens)} num />
              <Row term="Reasoning" value={int(g.reasoning_tokens)} num />
              <Row term="Images" value={int(g.images)} num />
            </dl>
            <h3>Timing</h3>
            <dl class="details">
              <Row term="Latency" value={ms(g.latency_ms)} num />
              <Row term="Time to first token" value={ms(g.ttft_ms)} num />
            </dl>
            <h3>Cost</h3>
            <dl class="details">
              {Object.entries(g.cost_details ?? {})
                .filter(([part]) => part !== UPSTREAM)
                .map(([part, amount]) => (
                  <Row key={part} term={COST_PARTS[part] ?? part} value={cost(amount)} num />
                ))}
              <Row term="Total" value={<strong>{cost(g.cost)}</strong>} num />
              {g.cost_details?.[UPSTREAM] !== undefined && (
                <Row term={`Billed by ${g.provider}`} value={cost(g.cost_details[UPSTREAM])} num />
              )}
            </dl>
          </div>
        ) : null}
      </div>
    </>
  );
}

function Row({ term, value, num = false }: { term: string; value: ComponentChildren; num?: boolean }) {
  return (
    <div class="details-row">
      <dt>{term}</dt>
      <dd class={num ? "num" : undefined}>{value}</dd>
    </div>
  );
}
