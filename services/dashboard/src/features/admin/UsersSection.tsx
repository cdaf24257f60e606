import { useState } from "react";
import { ROLES, type Role, type User, type UserPatch } from "../../api/types";
import { useSession } from "../../auth/session";
import { Avatar, RelativeTime } from "../../components/Badges";
import { Field, FormDialog } from "../../components/FormDialog";
import { Icon } from "../../components/Icon";
import { QueryView } from "../../components/QueryView";
import { EmptyState, LoadingState, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";
import { useCreateUser, useUpdateUser, useUsers } from "./queries";

/** The server's minimum (`tasktracker.auth.passwords.MIN_LENGTH`); it refuses shorter ones anyway. */
const PASSWORD_MIN = 12;

export function UsersSection() {
  const { t } = useI18n();
  const users = useUsers();
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="admin-users">
      <div className="admin__bar">
        <h2 id="admin-users">{t("admin.users")}</h2>
        <span className="page__spacer" />
        <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
          <Icon name="plus" /> {t("admin.newUser")}
        </button>
      </div>
      <p className="admin__note">{t("admin.usersHint")}</p>
      <QueryView query={users} loading={<LoadingState rows={3} />} empty={<EmptyState icon="user" title={t("admin.noUsers")} />}>
        {(page) => (
          <div className="table-wrap">
            <table className="table" data-testid="users-table">
              <caption className="visually-hidden">{t("admin.users")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("admin.user")}</th>
                  <th scope="col">{t("admin.role")}</th>
                  <th scope="col">{t("admin.telegram")}</th>
                  <th scope="col">{t("admin.created")}</th>
                  <th scope="col">{t("admin.state")}</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((user) => (
                  <UserRow key={user.id} user={user} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
      <NewUserDialog open={creating} onClose={() => setCreating(false)} />
    </section>
  );
}

function UserRow({ user }: { user: User }) {
  const { t, label } = useI18n();
  const { user: me } = useSession();
  const update = useUpdateUser();
  const toast = useToast();
  const self = me?.id === user.id;
  const save = (patch: UserPatch, done: string) =>
    update.mutate(
      { id: user.id, patch },
      {
        onSuccess: () => toast.push({ kind: "success", text: done }),
        onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
      },
    );
  return (
    <tr className={user.disabled ? "admin__row--disabled" : undefined} data-testid="user-row" data-username={user.username}>
      <td>
        <span className="admin__who">
          <Avatar name={user.username} size={22} />
          <span>
            {user.username}
            {self ? <small> · {t("admin.you")}</small> : null}
            {user.email ? (
              <>
                <br />
                <small>{user.email}</small>
              </>
            ) : null}
          </span>
        </span>
      </td>
      <td>
        <select
          aria-label={t("admin.roleOf", { name: user.username })}
          value={user.role}
          disabled={update.isPending}
          onChange={(event) => {
            const role = event.target.value as Role;
            save({ role }, t("admin.roleChanged", { name: user.username, role: label("role", role) }));
          }}
        >
          {ROLES.map((role) => (
            <option key={role} value={role}>
              {label("role", role)}
            </option>
          ))}
        </select>
      </td>
      <td>
        <TelegramIdField user={user} onSave={(id) => save({ telegram_user_id: id }, t("admin.telegramSaved", { name: user.username }))} />
      </td>
      <td>
        <RelativeTime iso={user.created_at} />
      </td>
      <td>
        <button
          type="button"
          className={`btn btn--sm${user.disabled ? "" : " btn--ghost"}`}
          disabled={update.isPending || self}
          title={self ? t("admin.notYourself") : undefined}
          onClick={() =>
            save(
              { disabled: !user.disabled },
              t(user.disabled ? "admin.enabled" : "admin.disabled", { name: user.username }),
            )
          }
          aria-label={t(user.disabled ? "admin.enableUser" : "admin.disableUser", { name: user.username })}
        >
          {user.disabled ? t("admin.enable") : t("admin.disable")}
        </button>
        {user.disabled ? <span className="muted"> {t("admin.isDisabled")}</span> : null}
      </td>
    </tr>
  );
}

/** The numeric Telegram user id that maps the bot's admin commands to this user; empty clears it. */
function TelegramIdField({ user, onSave }: { user: User; onSave: (id: number | null) => void }) {
  const { t } = useI18n();
  const saved = user.telegram_user_id === null ? "" : String(user.telegram_user_id);
  const [draft, setDraft] = useState(saved);
  const [draftFor, setDraftFor] = useState(saved);
  if (draftFor !== saved) {
    setDraftFor(saved);
    setDraft(saved);
  }
  const valid = draft.trim() === "" || /^\d{1,15}$/.test(draft.trim());
  const commit = () => {
    const value = draft.trim();
    if (!valid || value === saved) return;
    onSave(value === "" ? null : Number(value));
  };
  return (
    <input
      inputMode="numeric"
      aria-label={t("admin.telegramOf", { name: user.username })}
      aria-invalid={!valid}
      placeholder="—"
      value={draft}
      onChange={(event) => setDraft(event.target.value)}
      onBlur={commit}
      onKeyDown={(event) => {
        if (event.key === "Enter") commit();
        if (event.key === "Escape") setDraft(saved);
      }}
    />
  );
}

function NewUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t, label } = useI18n();
  const create = useCreateUser();
  const toast = useToast();
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const close = () => {
    setUsername("");
    setEmail("");
    setPassword("");
    setRole("editor");
    create.reset();
    onClose();
  };
  const submit = () =>
    create.mutate(
      { username: username.trim(), email: email.trim() || null, password, role },
      {
        onSuccess: (user) => {
          toast.push({ kind: "success", text: t("admin.userCreated", { name: user.username }) });
          close();
        },
      },
    );
  return (
    <FormDialog
      open={open}
      onClose={close}
      title={t("admin.newUser")}
      onSubmit={submit}
      submitLabel={t("admin.createUser")}
      canSubmit={Boolean(username.trim()) && password.length >= PASSWORD_MIN}
      pending={create.isPending}
      error={create.error}
    >
      <div className="form__row">
        <Field label={t("login.username")}>
          <input required autoFocus autoComplete="off" value={username} onChange={(event) => setUsername(event.target.value)} maxLength={64} />
        </Field>
        <Field label={t("admin.role")}>
          <select value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.map((value) => (
              <option key={value} value={value}>
                {label("role", value)}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Field label={t("admin.email")}>
        <input type="email" autoComplete="off" value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      <Field label={t("login.password")}>
        <input
          type="password"
          required
          minLength={PASSWORD_MIN}
          autoComplete="new-password"
          aria-describedby="new-user-password-hint"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
      </Field>
      <small id="new-user-password-hint" className="admin__note">
        {t("admin.passwordHint", { count: PASSWORD_MIN })}
      </small>
      <p className="admin__note">{t(`admin.roleHint.${role}`)}</p>
    </FormDialog>
  );
}
