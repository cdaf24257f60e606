import { useEffect, useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { isApiError } from "../../api/client";
import { safeNext } from "../../auth/roles";
import { useLogin, useSession } from "../../auth/session";
import "../../auth/auth.css";
import { errorText, Spinner } from "../../components/States";
import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n } from "../../i18n/I18nProvider";

/** Seconds left until a moment set with `start(seconds)`, ticking while any are left. */
function useCountdown(): [number, (seconds: number) => void] {
  const [clock, setClock] = useState({ until: 0, now: 0 });
  const running = clock.until > clock.now;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setClock((current) => ({ ...current, now: Date.now() })), 250);
    return () => clearInterval(timer);
  }, [running]);
  const start = (seconds: number) => {
    const now = Date.now();
    setClock({ until: now + seconds * 1000, now });
  };
  return [Math.max(0, Math.ceil((clock.until - clock.now) / 1000)), start];
}

export function LoginPage() {
  const { t } = useI18n();
  usePageTitle(t("login.title"));
  const session = useSession();
  const login = useLogin();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const limited = isApiError(login.error, 429);
  const [wait, startWait] = useCountdown();

  if (session.isPending) {
    return (
      <div className="auth-gate">
        <Spinner />
      </div>
    );
  }
  // Already signed in (or no accounts at all): nothing to do here.
  if (session.mode === "off" || session.user) return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!username.trim() || !password || wait > 0) return;
    login.mutate(
      { username: username.trim(), password },
      {
        onSuccess: () => void navigate(next, { replace: true }),
        onError: (error) => {
          setPassword("");
          if (isApiError(error, 429)) startWait(error.retryAfter ?? 1);
        },
      },
    );
  };

  let error: string | null = null;
  if (login.isError) {
    if (isApiError(login.error, 401)) error = t("login.invalid");
    else if (limited) error = wait > 0 ? t("login.rateLimited", { seconds: wait }) : t("login.rateLimitedOver");
    else error = errorText(login.error, t("state.networkError"));
  }
  const expired = !login.isError && params.has("next");

  return (
    <main id="main" className="login" tabIndex={-1}>
      <form className="login__card form" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div className="login__brand">
          <span className="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 32 32" width="28" height="28">
              <rect width="32" height="32" rx="8" fill="var(--accent)" />
              <path d="M9 16.5l4.5 4.5L23 11.5" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </span>
          <h1 id="login-title" className="login__title">
            {t("login.title")}
          </h1>
        </div>
        {expired ? <p className="login__hint">{t("login.needed")}</p> : null}
        <label className="form__field">
          <span>{t("login.username")}</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            autoFocus
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="form__field">
          <span>{t("login.password")}</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <div className="login__error" role="alert" data-testid="login-error">
          {error}
        </div>
        <button
          type="submit"
          className="btn btn--primary btn--block"
          disabled={login.isPending || wait > 0 || !username.trim() || !password}
        >
          {login.isPending ? t("login.signingIn") : t("login.submit")}
        </button>
        <p className="login__help muted">
          {t("login.help")} <code>tasktracker user link NAME</code>
        </p>
      </form>
    </main>
  );
}
