// The one door to the gateway's /api/v1. The ID token lives in this module only: never in
// localStorage, sessionStorage or a JS-set cookie. The refresh token is an HttpOnly cookie the
// browser sends to /api/v1/auth on its own.
import type { Session } from "./types";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly type: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Listener = (session: Session | null) => void;

let token: string | null = null;
let refreshing: Promise<Session | null> | null = null;
let refreshTimer: number | undefined;
const listeners = new Set<Listener>();

/** Called with the session after each sign-in or refresh, and with null once signed out. */
export function onSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(session: Session | null): void {
  token = session?.token ?? null;
  window.clearTimeout(refreshTimer);
  if (session && session.expires_in > 120) {
    // Renew a minute before the ID token runs out so requests rarely meet a 401.
    refreshTimer = window.setTimeout(() => void refresh(), (session.expires_in - 60) * 1000);
  }
  for (const listener of listeners) listener(session);
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, say): fall back to the status text.
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (error && typeof error === "object") {
    return new ApiError(
      response.status,
      typeof error.code === "string" ? error.code : null,
      typeof error.message === "string" ? error.message : `Request failed (${response.status})`,
      typeof error.type === "string" ? error.type : null,
      typeof error.param === "string" ? error.param : null,
    );
  }
  return new ApiError(response.status, null, `Request failed (${response.status} ${response.statusText})`.trim());
}

function send(path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return fetch(BASE + path, { ...init, headers, credentials: "same-origin" }).catch((cause: unknown) => {
    throw new ApiError(0, "network_error", "Cannot reach OneRouter. Check your connection and try again.", null, String(cause));
  });
}

/** Where signed-out requests send the user; set by the app (it knows the router). */
let signedOutHandler: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  signedOutHandler = handler;
}

/** A fetch with the token; on a 401 it refreshes the session once and retries. */
export async function requestRaw(path: string, init: RequestInit = {}): Promise<Response> {
  let response = await send(path, init);
  if (response.status === 401 && !path.startsWith("/auth/")) {
    const session = await refresh();
    if (!session) {
      signedOutHandler();
      throw await errorFrom(response);
    }
    response = await send(path, init);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** JSON in, JSON out; errors become ApiError with the API's own message. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await requestRaw(path, init);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export function post<T>(path: string, body?: unknown): Promise<T> {
  return request<T>(path, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
}

export function patch<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, { method: "PATCH", body: JSON.stringify(body) });
}

export function put<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, { method: "PUT", body: JSON.stringify(body) });
}

export function del<T>(path: string): Promise<T> {
  return request<T>(path, { method: "DELETE" });
}

export function isSignedIn(): boolean {
  return token !== null;
}

/** Restores or renews the session from the refresh cookie; null when signed out. */
export function refresh(): Promise<Session | null> {
  refreshing ??= (async () => {
    try {
      const response = await send("/auth/refresh", { method: "POST" });
      if (!response.ok) {
        setSession(null);
        return null;
      }
      const session = ((await response.json()) as { data: Session }).data;
      setSession(session);
      return session;
    } catch {
      setSession(null);
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function signIn(email: string, password: string): Promise<Session> {
  const { data } = await post<{ data: Session }>("/auth/sign-in", { email, password });
  setSession(data);
  return data;
}

export async function signOut(): Promise<void> {
  try {
    await post("/auth/sign-out");
  } finally {
    setSession(null);
  }
}

/** Builds a query string, leaving out empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
