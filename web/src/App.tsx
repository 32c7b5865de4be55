import { useEffect } from "preact/hooks";
import { refresh, whenSignedOut } from "./api";
import { AuthFrame, Shell } from "./components/Layout";
import { Spinner } from "./components/States";
import { Activity } from "./pages/Activity";
import { Confirm, SignIn, SignUp } from "./pages/Auth";
import { Credits } from "./pages/Credits";
import { Keys } from "./pages/Keys";
import { Logs } from "./pages/Logs";
import { Models } from "./pages/Models";
import { NotFound } from "./pages/NotFound";
import { Settings } from "./pages/Settings";
import { afterSignIn, navigate, useLocation } from "./router";
import { useSession } from "./session";

const PRIVATE: Record<string, () => preact.JSX.Element> = {
  "/keys": Keys,
  "/credits": Credits,
  "/activity": Activity,
  "/logs": Logs,
  "/settings": Settings,
};
const AUTH_PAGES: Record<string, () => preact.JSX.Element> = {
  "/sign-in": SignIn,
  "/sign-up": SignUp,
  "/confirm": Confirm,
};

/** Pages a signed-out visitor may see; everything else (unknown paths too) needs a session. */
const isPublic = (path: string) => path === "/models" || path in AUTH_PAGES;

function signInUrl(): string {
  const { pathname, search } = window.location;
  return pathname === "/" || isPublic(pathname) ? "/sign-in" : `/sign-in?next=${encodeURIComponent(pathname + search)}`;
}

whenSignedOut(() => {
  if (!isPublic(window.location.pathname)) navigate(signInUrl(), { replace: true });
});

// Restore the session from the refresh cookie before deciding what to show.
void refresh();

export function App() {
  const { path } = useLocation();
  const session = useSession();

  useEffect(() => {
    if (session.status === "loading") return;
    const signedIn = session.status === "signed-in";
    // The address bar, not this render's `path`: a sign-in may have moved on already.
    const path = window.location.pathname;
    if (path === "/") navigate(signedIn ? "/keys" : "/sign-in", { replace: true });
    else if (!signedIn && !isPublic(path)) navigate(signInUrl(), { replace: true });
    else if (signedIn && (path === "/sign-in" || path === "/sign-up")) navigate(afterSignIn(), { replace: true });
  }, [path, session.status]);

  if (path in AUTH_PAGES) {
    if (session.status === "loading") return <Loading />;
    const Page = AUTH_PAGES[path];
    return <Page />;
  }
  if (path === "/models") {
    return (
      <Shell path={path}>
        <Models />
      </Shell>
    );
  }
  if (session.status !== "signed-in") return <Loading />;
  const Page = PRIVATE[path] ?? NotFound;
  return (
    <Shell path={path}>
      <Page key={path} />
    </Shell>
  );
}

function Loading() {
  return (
    <AuthFrame title="OneRouter">
      <Spinner label="Loading your session" />
    </AuthFrame>
  );
}

