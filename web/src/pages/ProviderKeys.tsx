// The Settings page's "Provider keys" section: the account's own API keys for providers (bring
// your own key). The gateway stores them encrypted and only ever answers with a hint, so this
// section never holds a stored key: the one typed in is sent once and the field cleared.
import { useState } from "preact/hooks";
import { ApiError, put, request } from "../api";
import { ConfirmDeleteDialog } from "../components/ConfirmDelete";
import { ErrorState, FormError, SkeletonRows } from "../components/States";
import { dateTime } from "../format";
import { asApiError, useAsync } from "../hooks";
import type { Model, ProviderKey } from "../types";

const loadKeys = async () => (await request<{ data: ProviderKey[] }>("/provider-keys")).data;

/** The providers that serve some model, from the public models listing; [] if it fails. */
const loadProviders = async () => {
  try {
    const { data } = await request<{ data: Model[] }>("/models");
    return [...new Set(data.flatMap((model) => model.endpoints.map((endpoint) => endpoint.provider)))].sort();
  } catch {
    return [] as string[];
  }
};

export function ProviderKeysSection() {
  const keys = useAsync(loadKeys, []);
  const providers = useAsync(loadProviders, []);
  const [deleting, setDeleting] = useState<ProviderKey | null>(null);

  const saved = (key: ProviderKey) => {
    const others = (keys.data ?? []).filter((k) => k.provider !== key.provider);
    keys.setData([...others, key].sort((a, b) => a.provider.localeCompare(b.provider)));
  };
  const list = keys.data ?? [];
  return (
    <section class="card" aria-labelledby="provider-keys-heading" data-testid="provider-keys">
      <div class="card-head">
        <h2 id="provider-keys-heading" class="card-title">
          Provider keys
        </h2>
        <p class="card-subtitle">
          Use your own API key with a provider: requests routed to it use your key first. Keys are encrypted before they are stored and are never shown again, only their last
          characters.
        </p>
      </div>
      {keys.loading && !keys.data ? (
        <SkeletonRows rows={2} columns={4} />
      ) : keys.error ? (
        <ErrorState error={keys.error} onRetry={keys.reload} />
      ) : list.length === 0 ? (
        <p class="muted provider-keys-empty" data-testid="provider-keys-empty">
          No provider keys stored. OneRouter's own keys serve every request.
        </p>
      ) : (
        <div class="table-wrap provider-keys-table">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Key</th>
                <th scope="col">If it fails</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((key) => (
                <tr key={key.provider} data-testid="provider-key-row">
                  <td class="strong">{key.provider}</td>
                  <td class="mono" data-testid="provider-key-hint">
                    {key.hint}
                  </td>
                  <td>
                    <span class={key.fallback ? "badge badge-success" : "badge badge-neutral"}>{key.fallback ? "OneRouter's key" : "Other providers only"}</span>
                  </td>
                  <td class="nowrap">{dateTime(key.updated_at)}</td>
                  <td class="row-actions">
                    <button type="button" class="button button-small button-danger-ghost" onClick={() => setDeleting(key)} aria-label={`Delete the ${key.provider} key`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ProviderKeyForm providers={providers.data ?? []} stored={list} onSaved={saved} />
      <DeleteProviderKeyDialog
        providerKey={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(key) => {
          keys.setData((keys.data ?? []).filter((k) => k.provider !== key.provider));
          setDeleting(null);
        }}
      />
    </section>
  );
}

function ProviderKeyForm({ providers, stored, onSaved }: { providers: string[]; stored: ProviderKey[]; onSaved: (key: ProviderKey) => void }) {
  const [provider, setProvider] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [fallback, setFallback] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const chosen = provider || providers[0] || "";
  const replacing = stored.some((key) => key.provider === chosen.trim());

  const submit = async (event: Event) => {
    event.preventDefault();
    const name = chosen.trim();
    if (!name) return;
    setBusy(true);
    setError(null);
    try {
      const { data } = await put<{ data: ProviderKey }>(`/provider-keys/${encodeURIComponent(name)}`, { api_key: apiKey.trim(), fallback });
      setApiKey("");
      setFallback(true);
      onSaved(data);
    } catch (cause) {
      setError(asApiError(cause));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form provider-key-form" onSubmit={submit} autocomplete="off">
      <h3 class="form-title">Add or replace a key</h3>
      <div class="form-row">
        <div class="field">
          <label for="provider-key-provider">Provider</label>
          {providers.length > 0 ? (
            <select id="provider-key-provider" name="provider" value={chosen} onChange={(e) => setProvider(e.currentTarget.value)} data-testid="provider-key-provider">
              {providers.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          ) : (
            <input
              id="provider-key-provider"
              name="provider"
              required
              placeholder="e.g. openai"
              value={provider}
              onInput={(e) => setProvider(e.currentTarget.value)}
              data-testid="provider-key-provider"
            />
          )}
        </div>
        <div class="field">
          <label for="provider-key-secret">API key</label>
          <input
            id="provider-key-secret"
            name="api_key"
            type="password"
            required
            maxLength={4096}
            autocomplete="new-password"
            spellcheck={false}
            placeholder="Paste the provider's API key"
            value={apiKey}
            onInput={(e) => setApiKey(e.currentTarget.value)}
            data-testid="provider-key-secret"
          />
        </div>
      </div>
      <label class="checkbox">
        <input type="checkbox" checked={fallback} onChange={(e) => setFallback(e.currentTarget.checked)} data-testid="provider-key-fallback" />
        <span>If my key fails, OneRouter's key for this provider may serve (and is charged)</span>
      </label>
      <FormError error={error} />
      <div>
        <button type="submit" class="button button-primary" disabled={busy || !chosen.trim() || !apiKey.trim()} data-testid="provider-key-save">
          {busy ? "Saving…" : replacing ? `Replace ${chosen} key` : "Save key"}
        </button>
      </div>
    </form>
  );
}

function DeleteProviderKeyDialog({ providerKey, onClose, onDeleted }: { providerKey: ProviderKey | null; onClose: () => void; onDeleted: (key: ProviderKey) => void }) {
  return (
    <ConfirmDeleteDialog
      item={providerKey}
      title="Delete provider key?"
      path={(key) => `/provider-keys/${encodeURIComponent(key.provider)}`}
      confirmTestId="provider-key-delete-confirm"
      onClose={onClose}
      onDeleted={onDeleted}
    >
      {(key) => (
        <>
          Your <strong>{key.provider}</strong> key (<span class="mono">{key.hint}</span>) will be deleted. Requests to {key.provider} then use OneRouter's own keys. This cannot be
          undone.
        </>
      )}
    </ConfirmDeleteDialog>
  );
}
