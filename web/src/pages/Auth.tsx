import { useState } from "preact/hooks";
import { ApiError, post, signIn } from "../api";
import { AuthFrame } from "../components/Layout";
import { FormError, Notice } from "../components/States";
import { asApiError, useTitle } from "../hooks";
import { afterSignIn, navigate, onLinkClick, useLocation } from "../router";
import type { SignUpResult } from "../types";

function Submit({ busy, children }: { busy: boolean; children: string }) {
  return (
    <button type="submit" class="button button-primary button-block" disabled={busy} aria-busy={busy}>
      {busy ? <span class="spinner spinner-small" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

export function SignIn() {
  useTitle("Sign in");
  const { query } = useLocation();
  const [email, setEmail] = useState(query.get("email") ?? "");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
      navigate(afterSignIn(query), { replace: true });
    } catch (cause) {
      setError(asApiError(cause));
      setBusy(false);
    }
  };

  return (
    <AuthFrame title="Sign in">
      {query.get("confirmed") && <Notice kind="success">Email confirmed. Sign in to continue.</Notice>}
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="sign-in-email">Email</label>
          <input id="sign-in-email" name="email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="sign-in-password">Password</label>
          <input id="sign-in-password" name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </div>
        <FormError error={error} />
        {error?.code === "not_confirmed" && (
          <p class="form-hint">
            <a href={`/confirm?email=${encodeURIComponent(email.trim())}`} onClick={onLinkClick}>
              Confirm your email
            </a>{" "}
            first.
          </p>
        )}
        <Submit busy={busy}>Sign in</Submit>
      </form>
      <p class="auth-switch">
        New to OneRouter?{" "}
        <a href="/sign-up" onClick={onLinkClick}>
          Create an account
        </a>
      </p>
      <p class="auth-switch">
        <a href="/models" onClick={onLinkClick}>
          Browse models without signing in
        </a>
      </p>
    </AuthFrame>
  );
}

export function SignUp() {
  useTitle("Sign up");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await post<{ data: SignUpResult }>("/auth/sign-up", { email: email.trim(), password });
      navigate(`/confirm?email=${encodeURIComponent(data.email)}&via=${data.confirmation}`);
    } catch (cause) {
      setError(asApiError(cause));
      setBusy(false);
    }
  };

  const passwordError = error?.code === "invalid_password" ? error : null;
  const otherError = passwordError ? null : error;
  return (
    <AuthFrame title="Create your account">
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="sign-up-email">Email</label>
          <input id="sign-up-email" name="email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} aria-invalid={error?.code === "invalid_email" || error?.code === "email_taken"} />
        </div>
        <div class="field">
          <label for="sign-up-password">Password</label>
          <input
            id="sign-up-password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={passwordError !== null}
            aria-describedby="sign-up-password-help"
          />
          {passwordError ? (
            <p id="sign-up-password-help" class="field-error" role="alert" data-testid="error">
              {passwordError.message}
            </p>
          ) : (
            <p id="sign-up-password-help" class="field-help">
              Use a long password you don't use elsewhere.
            </p>
          )}
        </div>
        <FormError error={otherError} />
        {error?.code === "email_taken" && (
          <p class="form-hint">
            <a href={`/sign-in?email=${encodeURIComponent(email.trim())}`} onClick={onLinkClick}>
              Sign in instead
            </a>
          </p>
        )}
        <Submit busy={busy}>Create account</Submit>
      </form>
      <p class="auth-switch">
        Already have an account?{" "}
        <a href="/sign-in" onClick={onLinkClick}>
          Sign in
        </a>
      </p>
    </AuthFrame>
  );
}

export function Confirm() {
  useTitle("Confirm your email");
  const { query } = useLocation();
  const [email, setEmail] = useState(query.get("email") ?? "");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [resent, setResent] = useState(false);
  const console_ = query.get("via") === "console";

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post("/auth/confirm", { email: email.trim(), code: code.trim() });
      navigate(`/sign-in?email=${encodeURIComponent(email.trim())}&confirmed=1`);
    } catch (cause) {
      setError(asApiError(cause));
      setBusy(false);
    }
  };

  const resend = async () => {
    setError(null);
    setResent(false);
    try {
      await post("/auth/resend-code", { email: email.trim() });
      setResent(true);
    } catch (cause) {
      setError(asApiError(cause));
    }
  };

  return (
    <AuthFrame title="Confirm your email">
      <p class="auth-lead" data-testid="confirm-hint">
        {console_ ? (
          <>
            Running locally: the code is printed in the <code>make dev</code> console.
          </>
        ) : (
          "We emailed you a code."
        )}
      </p>
      {resent && <Notice kind="success">A new code is on its way.</Notice>}
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="confirm-email">Email</label>
          <input id="confirm-email" name="email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="confirm-code">Confirmation code</label>
          <input id="confirm-code" name="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </div>
        <FormError error={error} />
        <Submit busy={busy}>Confirm</Submit>
      </form>
      <p class="auth-switch">
        No code?{" "}
        <button type="button" class="link-button" onClick={resend} disabled={!email.trim()}>
          Send a new one
        </button>
      </p>
    </AuthFrame>
  );
}
