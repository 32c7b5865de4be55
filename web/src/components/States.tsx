import type { ComponentChildren } from "preact";
import type { ApiError } from "../api";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}…</span>
    </div>
  );
}

/** Grey bars in the shape of a table while its rows load. */
export function SkeletonRows({ rows = 5, columns = 5 }: { rows?: number; columns?: number }) {
  return (
    <div class="skeleton-table" role="status" aria-label="Loading">
      {Array.from({ length: rows }, (_, r) => (
        <div class="skeleton-row" key={r}>
          {Array.from({ length: columns }, (_, c) => (
            <span class="skeleton" key={c} />
          ))}
        </div>
      ))}
    </div>
  );
}

export function SkeletonCards({ count = 3 }: { count?: number }) {
  return (
    <div class="stats" role="status" aria-label="Loading">
      {Array.from({ length: count }, (_, i) => (
        <div class="card stat" key={i}>
          <span class="skeleton skeleton-label" />
          <span class="skeleton skeleton-value" />
        </div>
      ))}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  return (
    <div class="state state-error" role="alert" data-testid="error">
      <div class="state-icon" aria-hidden="true">!</div>
      <div>
        <p class="state-title">Something went wrong</p>
        <p class="state-text">{error.message}</p>
      </div>
      {onRetry && (
        <button type="button" class="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty" data-testid="empty">
      <p class="state-title">{title}</p>
      {children}
    </div>
  );
}

export function Notice({ kind = "info", children, testid }: { kind?: "info" | "success" | "warning" | "error"; children: ComponentChildren; testid?: string }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testid}>
      {children}
    </div>
  );
}

/** A form's error line: the API's message, right under the fields. */
export function FormError({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p class="form-error" role="alert" data-testid="error">
      {error.message}
    </p>
  );
}
