import { useState } from "preact/hooks";
import { ApiError, patch, request } from "../api";
import { PageHeader } from "../components/Layout";
import { ErrorState, FormError, SkeletonRows } from "../components/States";
import { date } from "../format";
import { asApiError, useAsync, useTitle } from "../hooks";
import type { Account } from "../types";
import { ProviderKeysSection } from "./ProviderKeys";

export function Settings() {
  useTitle("Settings");
  const account = useAsync(async () => (await request<{ data: Account }>("/account")).data, []);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const toggle = async () => {
    if (!account.data) return;
    setSaving(true);
    setError(null);
    try {
      const next = account.data.data_collection === "allow" ? "deny" : "allow";
      const { data } = await patch<{ data: Account }>("/account", { data_collection: next });
      account.setData(data);
    } catch (cause) {
      setError(asApiError(cause));
    } finally {
      setSaving(false);
    }
  };

  const a = account.data;
  return (
    <>
      <PageHeader title="Settings" />
      {account.loading && !a ? (
        <div class="card">
          <SkeletonRows rows={3} columns={2} />
        </div>
      ) : account.error ? (
        <div class="card">
          <ErrorState error={account.error} onRetry={account.reload} />
        </div>
      ) : a ? (
        <>
          <section class="card" aria-labelledby="privacy-heading">
            <h2 id="privacy-heading" class="card-title">
              Privacy
            </h2>
            <div class="setting">
              <div class="setting-text">
                <span class="setting-label" id="privacy-label">
                  Allow providers that may train on prompts
                </span>
                <p class="muted" id="privacy-help">
                  Off by default: your requests are only routed to providers that do not train on the prompts they receive. Turn this on and routing may also use providers that
                  may train on prompts, which can mean more models, lower prices or better availability. OneRouter itself never stores your prompts or completions.
                </p>
              </div>
              <button
                type="button"
                role="switch"
                class="switch switch-large"
                aria-checked={a.data_collection === "allow"}
                aria-labelledby="privacy-label"
                aria-describedby="privacy-help"
                onClick={toggle}
                disabled={saving}
                data-testid="privacy-toggle"
              >
                <span class="switch-thumb" aria-hidden="true" />
              </button>
            </div>
            <FormError error={error} />
          </section>
          <ProviderKeysSection />
          <section class="card" aria-labelledby="account-heading">
            <h2 id="account-heading" class="card-title">
              Account
            </h2>
            <dl class="details">
              <div class="details-row">
                <dt>Email</dt>
                <dd data-testid="account-email">{a.email ?? "—"}</dd>
              </div>
              <div class="details-row">
                <dt>Account id</dt>
                <dd class="mono" data-testid="account-id">
                  {a.account_id}
                </dd>
              </div>
              <div class="details-row">
                <dt>Created</dt>
                <dd>{date(a.created_at)}</dd>
              </div>
              {a.rate_limit && (
                <div class="details-row">
                  <dt>Rate limit</dt>
                  <dd data-testid="rate-limit">
                    {a.rate_limit.requests_per_minute.toLocaleString()} requests a minute,{" "}
                    {a.rate_limit.concurrent_requests.toLocaleString()} at once
                  </dd>
                </div>
              )}
            </dl>
          </section>
        </>
      ) : null}
    </>
  );
}
