// Shapes of the gateway's /api/v1 answers (see .onerouter/dashboard-api.md).
// Money is always a USD decimal string; timestamps are ISO-8601 UTC.

export type Usd = string;

export interface Session {
  token: string;
  expires_in: number;
  account_id: string;
  email: string;
}

export interface SignUpResult {
  email: string;
  confirmed: boolean;
  confirmation: "email" | "console";
}

export interface Account {
  account_id: string;
  email: string | null;
  data_collection: "allow" | "deny";
  /** The account's rate limits; null when the gateway does not limit. */
  rate_limit?: { requests_per_minute: number; concurrent_requests: number } | null;
  created_at: string;
}

export interface Credits {
  balance: Usd;
  total_credits: Usd;
  total_usage: Usd;
  total_expired: Usd;
  next_expiry: { date: string; amount: Usd } | null;
}

export interface CreditLot {
  id: string;
  kind: "purchase" | "grant";
  amount: Usd;
  remaining: Usd;
  refunded: Usd;
  expired: Usd;
  created_at: string;
  expires_at: string;
  note: string | null;
}

export interface Quote {
  amount: Usd;
  fee: Usd;
  total: Usd;
}

export interface Checkout extends Quote {
  id: string;
  url: string;
}

export interface ApiKey {
  key_id: string;
  label: string;
  hint: string;
  created_at: string;
  disabled: boolean;
  management: boolean;
  limit: Usd | null;
  usage: Usd;
  limit_remaining: Usd | null;
}

export interface ActivityRow {
  date: string;
  model: string;
  provider: string;
  key_id: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost: Usd;
}

export interface Activity {
  data: ActivityRow[];
  from: string;
  to: string;
  total_cost: Usd;
}

export type GenerationStatus = "ok" | "error" | "cancelled";

export interface Generation {
  id: string;
  created_at: string;
  model: string;
  provider: string;
  provider_model: string;
  key_id: string;
  status: GenerationStatus;
  streamed: boolean;
  cache: "HIT" | "MISS";
  finish_reason: string | null;
  estimated: boolean;
  /** Served with the account's own provider key: the provider bills it, `cost` is zero. */
  is_byok: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  images: number;
  latency_ms: number;
  ttft_ms: number | null;
  cost: Usd;
  cost_details: Record<string, Usd>;
  /** Endpoints tried first that failed (an outage, not the request's fault). */
  failed_attempts?: { model: string; provider: string }[];
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Pricing {
  prompt: Usd;
  completion: Usd;
  input_cache_read?: Usd;
  input_cache_write?: Usd;
  [other: string]: Usd | undefined;
}

export interface ModelEndpoint {
  provider: string;
  model: string;
  available: boolean;
  context_length: number;
  pricing: Pricing;
  trains_on_prompts: boolean;
}

export interface Model {
  id: string;
  name: string;
  context_length: number;
  architecture: { input_modalities: string[] };
  pricing: Pricing;
  available: boolean;
  endpoints: ModelEndpoint[];
}

export interface ModelStats {
  model: string;
  provider: string;
  requests: number;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
  throughput: number | null;
  success_rate: number | null;
}

/** A provider key the account stored for itself (BYOK): only its hint is ever shown. */
export interface ProviderKey {
  provider: string;
  hint: string;
  /** OneRouter's own keys may serve when this one fails. */
  fallback: boolean;
  created_at: string;
  updated_at: string;
}
