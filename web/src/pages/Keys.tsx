import { useState } from "preact/hooks";
import { ApiError, patch, request } from "../api";
import { CopyButton } from "../components/CopyButton";
import { Dialog } from "../components/Dialog";
import { PageHeader } from "../components/Layout";
import { Snippet } from "../components/Snippet";
import { EmptyState, ErrorState, Notice, SkeletonRows } from "../components/States";
import { CreateKeyDialog, DeleteDialog, LimitDialog } from "./KeyDialogs";
import { date, money } from "../format";
import { asApiError, useAsync, useTitle } from "../hooks";
import type { ApiKey } from "../types";

const loadKeys = async () => (await request<{ data: ApiKey[] }>("/keys")).data;

export function Keys() {
  useTitle("API keys");
  const keys = useAsync(loadKeys, []);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ key: ApiKey; secret: string } | null>(null);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const [deleting, setDeleting] = useState<ApiKey | null>(null);
  const [rowError, setRowError] = useState<ApiError | null>(null);

  const replace = (key: ApiKey) => keys.setData((keys.data ?? []).map((k) => (k.key_id === key.key_id ? key : k)));

  const toggle = async (key: ApiKey) => {
    setRowError(null);
    try {
      const { data } = await patch<{ data: ApiKey }>(`/keys/${encodeURIComponent(key.key_id)}`, { disabled: !key.disabled });
      replace(data);
    } catch (cause) {
      setRowError(asApiError(cause));
    }
  };

  const list = keys.data ?? [];
  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys let your code call models through OneRouter. Each key can have its own spending limit."
        actions={
          list.length > 0 && (
            <button type="button" class="button button-primary" onClick={() => setCreating(true)} data-testid="create-key">
              Create key
            </button>
          )
        }
      />
      {rowError && (
        <Notice kind="error" testid="error">
          {rowError.message}
        </Notice>
      )}
      {keys.loading && !keys.data ? (
        <div class="card card-flush">
          <SkeletonRows rows={3} columns={6} />
        </div>
      ) : keys.error ? (
        <div class="card">
          <ErrorState error={keys.error} onRetry={keys.reload} />
        </div>
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState title="Create your first API key">
            <p class="state-text">A key is all your code needs to call any model through OneRouter.</p>
            <button type="button" class="button button-primary" onClick={() => setCreating(true)} data-testid="create-key">
              Create key
            </button>
            <p class="state-text state-lead">Then point the OpenAI SDK at OneRouter and use the key as its API key:</p>
            <Snippet />
          </EmptyState>
        </div>
      ) : (
        <div class="card card-flush">
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Key</th>
                  <th scope="col">Created</th>
                  <th scope="col" class="num">
                    Usage
                  </th>
                  <th scope="col" class="num">
                    Limit
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((key) => (
                  <tr key={key.key_id} data-testid="key-row" class={key.disabled ? "row-muted" : undefined}>
                    <td>
                      <span class="strong">{key.label || "Untitled key"}</span>
                      {key.management && <span class="chip">management</span>}
                    </td>
                    <td class="mono">{key.hint}</td>
                    <td class="nowrap">{date(key.created_at)}</td>
                    <td class="num">{money(key.usage)}</td>
                    <td class="num">
                      {key.limit === null ? (
                        <span class="muted">No limit</span>
                      ) : (
                        <span title={key.limit_remaining !== null ? `${money(key.limit_remaining)} left` : undefined}>{money(key.limit)}</span>
                      )}
                    </td>
                    <td>
                      <span class={key.disabled ? "badge badge-neutral" : "badge badge-success"}>{key.disabled ? "Disabled" : "Enabled"}</span>
                    </td>
                    <td class="row-actions">
                      <button
                        type="button"
                        role="switch"
                        aria-checked={!key.disabled}
                        class="switch"
                        aria-label={`${key.disabled ? "Enable" : "Disable"} key ${key.label}`}
                        onClick={() => toggle(key)}
                        data-testid="key-toggle"
                      >
                        <span class="switch-thumb" aria-hidden="true" />
                      </button>
                      <button type="button" class="button button-small" onClick={() => setEditing(key)} aria-label={`Change limit of ${key.label}`}>
                        Limit
                      </button>
                      <button type="button" class="button button-small button-danger-ghost" onClick={() => setDeleting(key)} aria-label={`Delete ${key.label}`}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}

      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(key, secretText) => {
          setCreating(false);
          keys.setData([key, ...(keys.data ?? [])]);
          setSecret({ key, secret: secretText });
        }}
      />
      <Dialog title="Your new API key" open={secret !== null} onClose={() => setSecret(null)}>
        {secret && (
          <>
            <Notice kind="warning">Copy this key now. For your security it will not be shown again.</Notice>
            <div class="secret">
              <code data-testid="new-key-secret">{secret.secret}</code>
              <CopyButton text={secret.secret} class="button button-primary" />
            </div>
            <Snippet apiKey={secret.secret} />
            <div class="dialog-actions">
              <button type="button" class="button" onClick={() => setSecret(null)}>
                I've saved it
              </button>
            </div>
          </>
        )}
      </Dialog>
      <LimitDialog key={editing?.key_id} apiKey={editing} onClose={() => setEditing(null)} onSaved={(key) => (replace(key), setEditing(null))} />
      <DeleteDialog
        apiKey={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(key) => {
          keys.setData((keys.data ?? []).filter((k) => k.key_id !== key.key_id));
          setDeleting(null);
        }}
      />
    </>
  );
}
