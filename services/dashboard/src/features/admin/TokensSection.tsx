import { useRef, useState } from "react";
import type { ApiToken, TokenCreated } from "../../api/types";
import { useSession } from "../../auth/session";
import { RelativeTime } from "../../components/Badges";
import { Dialog } from "../../components/Dialog";
import { Field, FormDialog } from "../../components/FormDialog";
import { Icon } from "../../components/Icon";
import { QueryView } from "../../components/QueryView";
import { EmptyState, LoadingState } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";
import { useCreateToken, useRevokeToken, useTokens, useUsers } from "./queries";

const EXPIRY_DAYS = [7, 30, 90, 365] as const;

/** API tokens: one's own, and for an admin (`canSeeAll`) everyone's. */
export function TokensSection({ canSeeAll = true }: { canSeeAll?: boolean }) {
  const { t } = useI18n();
  const [chosen, setScope] = useState<"own" | "all">("own");
  const scope = canSeeAll ? chosen : "own";
  const { user: me } = useSession();
  const tokens = useTokens(scope, me?.id ?? null);
  // Owners by id, for everyone's tokens.
  const users = useUsers({ enabled: scope === "all" });
  const ownerName = (id: number) => users.data?.data.find((user) => user.id === id)?.username ?? `#${id}`;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<TokenCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  return (
    <section aria-labelledby="admin-tokens">
      <div className="admin__bar">
        <h2 id="admin-tokens">{t("admin.tokens")}</h2>
        {canSeeAll ? (
          <div className="segmented" role="group" aria-label={t("admin.tokenScope")}>
            <button type="button" aria-pressed={scope === "own"} onClick={() => setScope("own")}>
              {t("admin.tokensOwn")}
            </button>
            <button type="button" aria-pressed={scope === "all"} onClick={() => setScope("all")}>
              {t("admin.tokensAll")}
            </button>
          </div>
        ) : null}
        <span className="page__spacer" />
        <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
          <Icon name="plus" /> {t("admin.newToken")}
        </button>
      </div>
      <p className="admin__note">
        {t("admin.tokensHint")} <code>Authorization: Bearer tt_…</code>
      </p>
      <QueryView query={tokens} loading={<LoadingState rows={3} />} empty={<EmptyState icon="key" title={t("admin.noTokens")} />}>
        {(page) => (
          <div className="table-wrap">
            <table className="table" data-testid="tokens-table">
              <caption className="visually-hidden">{t("admin.tokens")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("admin.tokenName")}</th>
                  <th scope="col">{t("admin.tokenPrefix")}</th>
                  {scope === "all" ? <th scope="col">{t("admin.owner")}</th> : null}
                  <th scope="col">{t("admin.created")}</th>
                  <th scope="col">{t("admin.expires")}</th>
                  <th scope="col">{t("admin.lastUsed")}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t("admin.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((token) => (
                  <tr
                    key={token.id}
                    className={token.revoked_at ? "admin__row--disabled" : undefined}
                    data-testid="token-row"
                    data-token-name={token.name}
                  >
                    <td>{token.name}</td>
                    <td className="admin__mono">{token.prefix}…</td>
                    {scope === "all" ? <td>{ownerName(token.user_id)}</td> : null}
                    <td>
                      <RelativeTime iso={token.created_at} />
                    </td>
                    <td>{token.expires_at ? <Expiry iso={token.expires_at} /> : <span className="muted">{t("admin.never")}</span>}</td>
                    <td>{token.last_used_at ? <RelativeTime iso={token.last_used_at} /> : <span className="muted">{t("admin.never")}</span>}</td>
                    <td>
                      {token.revoked_at ? (
                        <span className="muted">{t("admin.revokedState")}</span>
                      ) : (
                        <button
                          type="button"
                          className="btn btn--sm btn--ghost"
                          onClick={() => setRevoking(token)}
                          aria-label={t("admin.revokeToken", { name: token.name })}
                        >
                          <Icon name="trash" /> {t("admin.revoke")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
      <NewTokenDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(token) => {
          setCreating(false);
          setCreated(token);
        }}
      />
      <TokenRevealDialog token={created} onClose={() => setCreated(null)} />
      <RevokeDialog token={revoking} onClose={() => setRevoking(null)} />
    </section>
  );
}

function Expiry({ iso }: { iso: string }) {
  const { t } = useI18n();
  // Read once per mount: a token that expires while the page is open shows it on the next refetch.
  const [now] = useState(() => Date.now());
  const past = new Date(iso).getTime() <= now;
  return (
    <span className={past ? "form__error" : undefined}>
      <RelativeTime iso={iso} />
      {past ? ` · ${t("admin.expired")}` : null}
    </span>
  );
}

function NewTokenDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (token: TokenCreated) => void }) {
  const { t, plural } = useI18n();
  const create = useCreateToken();
  const [name, setName] = useState("");
  const [days, setDays] = useState<string>("90");
  const close = () => {
    setName("");
    setDays("90");
    create.reset();
    onClose();
  };
  const submit = () =>
    create.mutate(
      { name: name.trim(), expires_in_days: days === "never" ? null : Number(days) },
      {
        onSuccess: (token) => {
          setName("");
          setDays("90");
          create.reset();
          onCreated(token);
        },
      },
    );
  return (
    <FormDialog
      open={open}
      onClose={close}
      title={t("admin.newToken")}
      onSubmit={submit}
      submitLabel={t("admin.createToken")}
      canSubmit={Boolean(name.trim())}
      pending={create.isPending}
      error={create.error}
    >
      <Field label={t("admin.tokenName")}>
        <input
          required
          autoFocus
          autoComplete="off"
          value={name}
          onChange={(event) => setName(event.target.value)}
          maxLength={100}
          placeholder={t("admin.tokenNameHint")}
        />
      </Field>
      <Field label={t("admin.expires")}>
        <select value={days} onChange={(event) => setDays(event.target.value)}>
          {EXPIRY_DAYS.map((value) => (
            <option key={value} value={String(value)}>
              {plural("count.days", value)}
            </option>
          ))}
          <option value="never">{t("admin.noExpiry")}</option>
        </select>
      </Field>
      <p className="admin__note">{t("admin.tokenOwner")}</p>
    </FormDialog>
  );
}

/** The new token, shown this once: the server keeps only its hash. */
function TokenRevealDialog({ token, onClose }: { token: TokenCreated | null; onClose: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const code = useRef<HTMLElement>(null);
  const copy = async () => {
    if (!token) return;
    try {
      await navigator.clipboard.writeText(token.token);
      toast.push({ kind: "success", text: t("admin.copied") });
    } catch {
      // No clipboard (insecure origin, denied): select it so Ctrl+C works.
      const range = document.createRange();
      if (code.current) range.selectNodeContents(code.current);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      toast.push({ kind: "info", text: t("admin.copyManually") });
    }
  };
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  return (
    <Dialog
      open={token !== null}
      onClose={onClose}
      title={t("admin.tokenCreated", { name: token?.name ?? "" })}
      footer={
        <button type="button" className="btn btn--primary" onClick={onClose}>
          {t("admin.tokenDone")}
        </button>
      }
    >
      {token ? (
        <div className="token-reveal">
          <p className="admin__note" role="note">
            {t("admin.tokenOnce")}
          </p>
          <div className="token-reveal__value">
            <code ref={code} data-testid="new-token">
              {token.token}
            </code>
            <button type="button" className="btn" onClick={() => void copy()} data-testid="copy-token">
              <Icon name="copy" /> {t("admin.copy")}
            </button>
          </div>
          <p className="admin__note">{t("admin.tokenUsage")}</p>
          <pre tabIndex={0} aria-label={t("admin.tokenExample")}>{`curl -H "Authorization: Bearer ${token.token}" \\\n  ${origin}/api/tasks`}</pre>
        </div>
      ) : null}
    </Dialog>
  );
}

function RevokeDialog({ token, onClose }: { token: ApiToken | null; onClose: () => void }) {
  const { t } = useI18n();
  const revoke = useRevokeToken();
  const toast = useToast();
  const close = () => {
    revoke.reset();
    onClose();
  };
  return (
    <FormDialog
      open={token !== null}
      onClose={close}
      title={t("admin.revokeTitle", { name: token?.name ?? "" })}
      onSubmit={() =>
        token &&
        revoke.mutate(token.id, {
          onSuccess: () => {
            toast.push({ kind: "success", text: t("admin.revoked", { name: token.name }) });
            close();
          },
        })
      }
      submitLabel={t("admin.revoke")}
      pending={revoke.isPending}
      error={revoke.error}
      danger
    >
      <p>{t("admin.revokeConfirm")}</p>
    </FormDialog>
  );
}
