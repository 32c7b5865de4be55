// A tiny history router: the gateway answers every dashboard path with index.html.
import { useEffect, useState } from "preact/hooks";

const CHANGE = "onerouter:navigate";

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(CHANGE));
  if (!options.replace) window.scrollTo(0, 0);
}

/** Rewrites the query string of the current page without adding a history entry. */
export function setQuery(params: Record<string, string | null>): void {
  const query = new URLSearchParams(window.location.search);
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === "") query.delete(name);
    else query.set(name, value);
  }
  const search = query.toString();
  navigate(window.location.pathname + (search ? `?${search}` : ""), { replace: true });
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return location;
}

/** Same-origin links that move within the app without a page load. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.target || anchor.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}

/** Where to go after signing in: the `next` page when it is one of ours, never another origin. */
export function afterSignIn(query: URLSearchParams = new URLSearchParams(window.location.search)): string {
  const next = query.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/keys";
}
