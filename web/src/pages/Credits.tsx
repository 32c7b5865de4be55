import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { PageHeader } from "../components/Layout";
import { EmptyState, ErrorState, Notice, SkeletonCards, SkeletonRows } from "../components/States";
import { date, money } from "../format";
import { useAsync, useTitle } from "../hooks";
import { setQuery, useLocation } from "../router";
import { loadCredits } from "../session";
import type { CreditLot, Credits as CreditSummary } from "../types";
import { BuyCredits, PENDING } from "./BuyCredits";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 60_000;

interface Loaded {
  credits: CreditSummary;
  lots: CreditLot[];
}

async function loadAll(): Promise<Loaded> {
  const [credits, lots] = await Promise.all([loadCredits(), request<{ data: CreditLot[] }>("/credits/lots")]);
  return { credits, lots: lots.data };
}

type Arrival = { state: "waiting" } | { state: "arrived"; balance: string } | { state: "slow" } | null;

export function Credits() {
  useTitle("Credits");
  const { query: params } = useLocation();
  const checkout = params.get("checkout");
  const all = useAsync(loadAll, []);
  const [arrival, setArrival] = useState<Arrival>(checkout === "success" ? { state: "waiting" } : null);
  const [cancelled] = useState(checkout === "cancelled");

  useEffect(() => {
    if (checkout === "cancelled") setQuery({ checkout: null, session_id: null });
    if (checkout !== "success") return;
    setQuery({ checkout: null, session_id: null });
    const before = sessionStorage.getItem(PENDING);
    sessionStorage.removeItem(PENDING);
    let baseline: string | null = before;
    const started = Date.now();
    let timer: number | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const credits = await loadCredits();
        if (baseline === null) baseline = credits.balance;
        else if (Number(credits.balance) !== Number(baseline)) {
          setArrival({ state: "arrived", balance: credits.balance });
          all.reload();
          return;
        }
      } catch {
        // A failed poll is retried on the next tick.
      }
      if (stopped) return;
      if (Date.now() - started >= POLL_LIMIT_MS) setArrival({ state: "slow" });
      else timer = window.setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, []);

  const data = all.data;
  const empty = data && Number(data.credits.balance) === 0 && data.lots.length === 0;
  return (
    <>
      <PageHeader title="Credits" description="Requests are paid from prepaid credits. Unused credit expires one year after purchase, oldest first." />
      {arrival?.state === "waiting" && (
        <Notice kind="info" testid="checkout-notice">
          <span class="spinner spinner-small" aria-hidden="true" />
          <span>Payment received — adding your credits…</span>
        </Notice>
      )}
      {arrival?.state === "arrived" && (
        <Notice kind="success" testid="checkout-notice">
          <span>
            Credits added. Your balance is now <strong class="num">{money(arrival.balance)}</strong>.
          </span>
        </Notice>
      )}
      {arrival?.state === "slow" && (
        <Notice kind="warning" testid="checkout-notice">
          Your payment was received, but the credits have not shown up yet. They usually arrive within a few minutes; refresh this page later.
        </Notice>
      )}
      {cancelled && (
        <Notice kind="info" testid="checkout-notice">
          Checkout cancelled. You have not been charged.
        </Notice>
      )}

      {all.loading && !data ? (
        <SkeletonCards count={4} />
      ) : all.error ? (
        <div class="card">
          <ErrorState error={all.error} onRetry={all.reload} />
        </div>
      ) : data ? (
        <Summary credits={data.credits} />
      ) : null}

      <div class="credits-layout">
        <BuyCredits balance={data?.credits.balance ?? null} />
        <section class="card lots-card" aria-labelledby="lots-heading">
          <div class="card-head">
            <h2 id="lots-heading" class="card-title">
              Credit lots
            </h2>
            <p class="card-subtitle">Every purchase and grant, newest first. Requests spend the oldest credit first.</p>
          </div>
          {all.loading && !data ? (
            <SkeletonRows rows={3} columns={5} />
          ) : all.error ? (
            <p class="muted">Your credit lots show here once the page loads.</p>
          ) : empty ? (
            <EmptyState title="Add credits to start making requests">
              <p class="state-text">Buy credits with a card; they appear here as a lot that expires in a year.</p>
            </EmptyState>
          ) : data && data.lots.length === 0 ? (
            <p class="muted">No credit lots yet.</p>
          ) : data ? (
            <LotsTable lots={data.lots} />
          ) : null}
        </section>
      </div>
    </>
  );
}

function Summary({ credits }: { credits: CreditSummary }) {
  return (
    <div class="stats">
      <div class="card stat stat-primary">
        <span class="stat-label">Balance</span>
        <span class="stat-value num" data-testid="credits-balance">
          {money(credits.balance)}
        </span>
        <span class="stat-sub">
          {credits.next_expiry ? (
            <>
              {money(credits.next_expiry.amount)} expires {date(credits.next_expiry.date)}
            </>
          ) : (
            "Nothing expiring"
          )}
        </span>
      </div>
      <div class="card stat">
        <span class="stat-label">Total credits</span>
        <span class="stat-value num">{money(credits.total_credits)}</span>
      </div>
      <div class="card stat">
        <span class="stat-label">Used</span>
        <span class="stat-value num">{money(credits.total_usage)}</span>
      </div>
      <div class="card stat">
        <span class="stat-label">Expired</span>
        <span class="stat-value num">{money(credits.total_expired)}</span>
      </div>
    </div>
  );
}

const dateTimeTitle = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toUTCString();
};

/** Where a lot stands: still spendable, spent, refunded or past its expiry. */
function lotStatus(lot: CreditLot): { label: string; badge: string } {
  const remaining = Number(lot.remaining);
  if (Number(lot.refunded) > 0 && Number(lot.refunded) >= Number(lot.amount)) return { label: "Refunded", badge: "badge-warning" };
  if (remaining > 0 && new Date(lot.expires_at).getTime() > Date.now()) return { label: "Active", badge: "badge-success" };
  if (Number(lot.expired) > 0 || new Date(lot.expires_at).getTime() <= Date.now()) return { label: "Expired", badge: "badge-neutral" };
  return { label: "Used up", badge: "badge-neutral" };
}

function LotsTable({ lots }: { lots: CreditLot[] }) {
  return (
    <div class="table-wrap table-bleed">
      <table class="table lots-table">
        <thead>
          <tr>
            <th scope="col">Lot</th>
            <th scope="col">Added</th>
            <th scope="col">Expires</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col" class="num">
              Remaining
            </th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {lots.map((lot) => {
            const status = lotStatus(lot);
            return (
              <tr key={lot.id} data-testid="lot-row">
                <td class="lot-cell">
                  <span class={lot.kind === "purchase" ? "badge badge-accent" : "badge badge-neutral"}>{lot.kind === "purchase" ? "Purchase" : "Grant"}</span>
                  {lot.note && (
                    <span class="cell-sub lot-note" title={lot.note}>
                      {lot.note}
                    </span>
                  )}
                </td>
                <td class="nowrap" title={dateTimeTitle(lot.created_at)}>
                  {date(lot.created_at)}
                </td>
                <td class="nowrap" title={dateTimeTitle(lot.expires_at)}>
                  {date(lot.expires_at)}
                </td>
                <td class="num">
                  {money(lot.amount)}
                  {/* Refunds and expiry are rare: a line of their own only when they happened. */}
                  {Number(lot.refunded) > 0 && <span class="cell-sub">{money(lot.refunded)} refunded</span>}
                </td>
                <td class="num">
                  <span class="strong">{money(lot.remaining)}</span>
                  {Number(lot.expired) > 0 && <span class="cell-sub">{money(lot.expired)} expired</span>}
                </td>
                <td>
                  <span class={`badge ${status.badge}`}>{status.label}</span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
