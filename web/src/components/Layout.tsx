import type { ComponentChildren } from "preact";
import { signOut } from "../api";
import { money } from "../format";
import { navigate, onLinkClick } from "../router";
import { useBalance, useBalancePolling, useSession } from "../session";

const NAV = [
  { path: "/models", label: "Models", testid: "nav-models", icon: "M4 6h16M4 12h16M4 18h10" },
  { path: "/keys", label: "API keys", testid: "nav-keys", icon: "M15 7a4 4 0 1 1-3.9 5H4v3h3v3h3v-3h1.1A4 4 0 0 1 15 7z" },
  { path: "/credits", label: "Credits", testid: "nav-credits", icon: "M3 7h18v10H3zM3 11h18M7 15h3" },
  { path: "/activity", label: "Activity", testid: "nav-activity", icon: "M5 20V10M12 20V4M19 20v-7" },
  { path: "/logs", label: "Logs", testid: "nav-logs", icon: "M5 5h14M5 10h14M5 15h9M5 20h6" },
  { path: "/settings", label: "Settings", testid: "nav-settings", icon: "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v3M12 19v3M2 12h3M19 12h3" },
];

export function Logo() {
  return (
    <a href="/models" class="brand" onClick={onLinkClick}>
      <span class="brand-mark" aria-hidden="true">
        <svg viewBox="0 0 24 24" width="18" height="18">
          <circle cx="6" cy="12" r="3" fill="currentColor" />
          <path d="M9 12h6M15 12l4-5M15 12l4 5" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round" />
        </svg>
      </span>
      <span>OneRouter</span>
    </a>
  );
}

function Header() {
  const session = useSession();
  const balance = useBalance();
  useBalancePolling(30_000);
  const leave = async () => {
    await signOut().catch(() => undefined);
    navigate("/sign-in");
  };
  return (
    <header class="topbar">
      {session.status === "signed-in" ? (
        <div class="topbar-account">
          <a href="/credits" class="balance-pill" onClick={onLinkClick} title="Credit balance">
            <span class="balance-label">Balance</span>
            <span class="num" data-testid="balance">
              {balance === null ? "…" : money(balance)}
            </span>
          </a>
          <span class="topbar-email" title="Signed in as">
            {session.email}
          </span>
          <button type="button" class="button button-ghost" onClick={leave} data-testid="sign-out">
            Sign out
          </button>
        </div>
      ) : session.status === "signed-out" ? (
        <div class="topbar-account">
          <a href="/sign-in" class="button button-ghost" onClick={onLinkClick}>
            Sign in
          </a>
          <a href="/sign-up" class="button button-primary" onClick={onLinkClick}>
            Sign up
          </a>
        </div>
      ) : null}
    </header>
  );
}

export function Shell({ path, children }: { path: string; children: ComponentChildren }) {
  const session = useSession();
  const items = session.status === "signed-in" ? NAV : NAV.slice(0, 1);
  return (
    <div class="shell">
      <a href="#main" class="skip-link">
        Skip to content
      </a>
      <aside class="sidebar">
        <div class="sidebar-inner">
        <Logo />
        <nav aria-label="Main">
          <ul>
            {items.map((item) => (
              <li key={item.path}>
                <a
                  href={item.path}
                  onClick={onLinkClick}
                  class={path === item.path ? "nav-link active" : "nav-link"}
                  aria-current={path === item.path ? "page" : undefined}
                  data-testid={item.testid}
                >
                  <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                    <path d={item.icon} stroke="currentColor" stroke-width="1.8" fill="none" stroke-linecap="round" stroke-linejoin="round" />
                  </svg>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        </div>
      </aside>
      <div class="main-column">
        <Header />
        <main id="main" class="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}

/** The centred card of sign-in, sign-up and confirm. */
export function AuthFrame({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="auth-page">
      <div class="auth-brand">
        <Logo />
      </div>
      <main class="card auth-card" id="main">
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}

export function PageHeader({ title, description, actions }: { title: string; description?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div>
        <h1>{title}</h1>
        {description && <p class="page-description">{description}</p>}
      </div>
      {actions && <div class="page-actions">{actions}</div>}
    </div>
  );
}
