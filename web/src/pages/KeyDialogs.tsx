import { useState } from "preact/hooks";
import { ApiError, patch, post } from "../api";
import { ConfirmDeleteDialog } from "../components/ConfirmDelete";
import { Dialog } from "../components/Dialog";
import { FormError } from "../components/States";
import { money } from "../format";
import { asApiError } from "../hooks";
import type { ApiKey } from "../types";

/** "" means no limit; otherwise a positive USD amount as typed (the API keeps it exact). */
function limitValue(text: string): string | null {
  const trimmed = text.trim().replace(/^\$/, "");
  return trimmed === "" ? null : trimmed;
}

export function CreateKeyDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (key: ApiKey, secret: string) => void }) {
  const [label, setLabel] = useState("");
  const [limit, setLimit] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const close = () => {
    setError(null);
    onClose();
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = { label: label.trim() };
      const value = limitValue(limit);
      if (value !== null) body.limit = value;
      const created = await post<{ data: ApiKey; key: string }>("/keys", body);
      setLabel("");
      setLimit("");
      onCreated(created.data, created.key);
    } catch (cause) {
      setError(asApiError(cause));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Create API key" open={open} onClose={close}>
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="key-label">Label</label>
          <input id="key-label" name="label" required maxLength={100} placeholder="e.g. production backend" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="key-limit">Spending limit in USD (optional)</label>
          <input id="key-limit" name="limit" inputMode="decimal" placeholder="No limit" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
          <p class="field-help">Requests with this key stop once it has spent this much.</p>
        </div>
        <FormError error={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy} data-testid="create-key-submit">
            {busy ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function LimitDialog({ apiKey, onClose, onSaved }: { apiKey: ApiKey | null; onClose: () => void; onSaved: (key: ApiKey) => void }) {
  const [limit, setLimit] = useState(apiKey?.limit ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!apiKey) return;
    setBusy(true);
    setError(null);
    try {
      const { data } = await patch<{ data: ApiKey }>(`/keys/${encodeURIComponent(apiKey.key_id)}`, { limit: limitValue(limit) });
      onSaved(data);
    } catch (cause) {
      setError(asApiError(cause));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Change spending limit" open={apiKey !== null} onClose={onClose}>
      {apiKey && (
        <form class="form" onSubmit={submit}>
          <p class="muted">
            {apiKey.label} has spent {money(apiKey.usage)} so far.
          </p>
          <div class="field">
            <label for="edit-limit">Limit in USD</label>
            <input id="edit-limit" name="limit" inputMode="decimal" placeholder="No limit" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
            <p class="field-help">Leave empty for no limit.</p>
          </div>
          <FormError error={error} />
          <div class="dialog-actions">
            <button type="button" class="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="button button-primary" disabled={busy}>
              {busy ? "Saving…" : "Save limit"}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function DeleteDialog({ apiKey, onClose, onDeleted }: { apiKey: ApiKey | null; onClose: () => void; onDeleted: (key: ApiKey) => void }) {
  return (
    <ConfirmDeleteDialog
      item={apiKey}
      title="Delete API key?"
      path={(key) => `/keys/${encodeURIComponent(key.key_id)}`}
      confirmTestId="delete-confirm"
      onClose={onClose}
      onDeleted={onDeleted}
    >
      {(key) => (
        <>
          Requests using <strong>{key.label || "this key"}</strong> (<span class="mono">{key.hint}</span>) will fail at once. This cannot be undone.
        </>
      )}
    </ConfirmDeleteDialog>
  );
}
