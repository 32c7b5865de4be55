import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, post, query, request } from "../api";
import { FormError } from "../components/States";
import { money } from "../format";
import { asApiError, useDebounced } from "../hooks";
import type { Checkout, Quote } from "../types";

// The balance before paying, so the return from Stripe can tell when the credit has landed even
// if the webhook beat the browser back. Not a secret: the token never goes into storage.
export const PENDING = "onerouter.checkout.balance";
const PRESETS = ["10", "25", "50", "100"];

export function BuyCredits({ balance }: { balance: string | null }) {
  const [amount, setAmount] = useState("25");
  const settled = useDebounced(amount.trim(), 400);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [quoteError, setQuoteError] = useState<ApiError | null>(null);
  const [quoting, setQuoting] = useState(false);
  const [paying, setPaying] = useState(false);
  const [payError, setPayError] = useState<ApiError | null>(null);
  const latest = useRef("");

  useEffect(() => {
    latest.current = settled;
    setQuote(null);
    setQuoteError(null);
    if (!settled) return;
    if (!/^\d+(\.\d{1,2})?$/.test(settled)) {
      setQuoteError(new ApiError(400, "invalid_amount", "Enter an amount in US dollars, like 25 or 12.50."));
      return;
    }
    setQuoting(true);
    request<{ data: Quote }>(`/credits/quote${query({ amount: settled })}`).then(
      ({ data }) => {
        if (latest.current !== settled) return;
        setQuote(data);
        setQuoting(false);
      },
      (cause: unknown) => {
        if (latest.current !== settled) return;
        setQuoteError(asApiError(cause));
        setQuoting(false);
      },
    );
  }, [settled]);

  const ready = quote !== null && quote.amount !== undefined && settled === amount.trim() && !quoting;
  const pay = async (event: Event) => {
    event.preventDefault();
    if (!ready) return;
    setPaying(true);
    setPayError(null);
    try {
      const { data } = await post<{ data: Checkout }>("/credits/checkout", { amount: settled });
      if (balance !== null) sessionStorage.setItem(PENDING, balance);
      window.location.assign(data.url);
    } catch (cause) {
      setPayError(asApiError(cause));
      setPaying(false);
    }
  };

  return (
    <section class="card" aria-labelledby="buy-heading">
      <h2 id="buy-heading" class="card-title">
        Buy credits
      </h2>
      <form class="form buy-form" onSubmit={pay}>
        <div class="field">
          <label for="buy-amount">Amount (USD)</label>
          <div class="input-prefix">
            <span aria-hidden="true">$</span>
            <input id="buy-amount" name="amount" inputMode="decimal" autoComplete="off" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} data-testid="buy-amount" aria-invalid={quoteError !== null} aria-describedby="buy-amount-error" />
          </div>
          <div class="presets" role="group" aria-label="Common amounts">
            {PRESETS.map((preset) => (
              <button type="button" key={preset} class={amount === preset ? "chip-button active" : "chip-button"} onClick={() => setAmount(preset)}>
                ${preset}
              </button>
            ))}
          </div>
          {quoteError && (
            <p id="buy-amount-error" class="field-error" role="alert">
              {quoteError.message}
            </p>
          )}
          <p class="field-help buy-help">You'll pay on Stripe's secure checkout page and come straight back here.</p>
        </div>
        <div class="buy-pay">
          <dl class="quote" aria-live="polite" aria-busy={quoting}>
            <div>
              <dt>Credits</dt>
              <dd class="num">{quote ? money(quote.amount) : "—"}</dd>
            </div>
            <div>
              <dt>Processing fee</dt>
              <dd class="num" data-testid="buy-fee">
                {quoting ? <span class="skeleton skeleton-inline" /> : quote ? money(quote.fee) : "—"}
              </dd>
            </div>
            <div class="quote-total">
              <dt>Total</dt>
              <dd class="num" data-testid="buy-total">
                {quoting ? <span class="skeleton skeleton-inline" /> : quote ? money(quote.total) : "—"}
              </dd>
            </div>
          </dl>
          <FormError error={payError} />
          <button type="submit" class="button button-primary button-block" disabled={!ready || paying} data-testid="buy-submit">
            {paying ? "Opening checkout…" : quote ? `Pay ${money(quote.total)}` : "Pay"}
          </button>
        </div>
      </form>
    </section>
  );
}
