// Who is signed in, and the account's live balance, shared by the header and the pages.
import { useEffect, useState } from "preact/hooks";
import { onSession, request } from "./api";
import type { Credits } from "./types";

export type SessionState =
  | { status: "loading" }
  | { status: "signed-out" }
  | { status: "signed-in"; email: string; accountId: string };

function store<T>(initial: T) {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set(next: T) {
      value = next;
      for (const listener of listeners) listener(value);
    },
    subscribe(listener: (value: T) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

function useStore<T>(s: ReturnType<typeof store<T>>): T {
  const [value, setValue] = useState(s.get);
  useEffect(() => {
    setValue(s.get());
    return s.subscribe(setValue);
  }, [s]);
  return value;
}

export const sessionStore = store<SessionState>({ status: "loading" });
export const balanceStore = store<string | null>(null);

onSession((session) => {
  if (session) sessionStore.set({ status: "signed-in", email: session.email, accountId: session.account_id });
  else {
    sessionStore.set({ status: "signed-out" });
    balanceStore.set(null);
  }
});

export const useSession = () => useStore(sessionStore);
export const useBalance = () => useStore(balanceStore);

/** Fetches /credits, publishes the balance to the header, and returns the whole summary. */
export async function loadCredits(): Promise<Credits> {
  const { data } = await request<{ data: Credits }>("/credits");
  balanceStore.set(data.balance);
  return data;
}

/** Keeps the balance fresh while the calling component is mounted. */
export function useBalancePolling(everyMs: number): void {
  const session = useSession();
  useEffect(() => {
    if (session.status !== "signed-in") return;
    const refresh = () => {
      if (document.visibilityState === "visible") loadCredits().catch(() => undefined);
    };
    refresh();
    const timer = window.setInterval(refresh, everyMs);
    return () => window.clearInterval(timer);
  }, [session.status, everyMs]);
}
