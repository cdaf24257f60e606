import { Link } from "react-router";
import { isApiError } from "../../api/client";
import { useLogout, useSession } from "../../auth/session";
import { Avatar } from "../../components/Badges";
import { Icon } from "../../components/Icon";
import { Popover } from "../../components/Popover";
import { errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";
import "./UserMenu.css";

/** Who is signed in, with their role; opens to the admin page (admins) and sign out. */
export function UserMenu() {
  const { t, label } = useI18n();
  const session = useSession();
  const logout = useLogout();
  const toast = useToast();
  const user = session.user;
  if (!user) return null;
  const role = label("role", user.role);
  const signOut = () =>
    logout.mutate(undefined, {
      onError: (error) => {
        if (!isApiError(error, 401)) toast.push({ kind: "error", text: errorText(error, t("state.networkError")) });
      },
    });
  return (
    <Popover
      label={t("user.menu", { name: user.username })}
      nameFromContent
      buttonClassName="sidebar__tool user-menu__button"
      align="start"
      buttonContent={
        <>
          <span aria-hidden="true">
            <Avatar name={user.username} size={20} />
          </span>
          <span className="visually-hidden">{t("user.menuPrefix")}</span>{" "}
          <span className="user-menu__name" data-testid="user-name">
            {user.username}
          </span>{" "}
          <span className="user-menu__role" data-testid="user-role">
            {role}
          </span>
        </>
      }
    >
      {(close) => (
        <div className="user-menu" data-testid="user-menu">
          <div className="user-menu__who">
            <strong>{user.username}</strong>
            <span className="muted">
              {role}
              {user.email ? ` · ${user.email}` : ""}
            </span>
            {session.mode === "off" ? <span className="muted">{t("user.authOff")}</span> : null}
          </div>
          <ul className="menu-list">
            {user.role === "admin" ? (
              <li>
                <Link to="/admin" className="menu-item" onClick={close}>
                  <Icon name="shield" />
                  <span>{t("nav.admin")}</span>
                </Link>
              </li>
            ) : null}
            {session.mode === "on" ? (
              <li>
                <Link to="/account/tokens" className="menu-item" onClick={close}>
                  <Icon name="key" />
                  <span>{t("user.tokens")}</span>
                </Link>
              </li>
            ) : null}
            {session.mode === "on" ? (
              <li>
                <button type="button" className="menu-item user-menu__action" onClick={signOut} disabled={logout.isPending}>
                  <Icon name="logout" />
                  <span>{t("user.signOut")}</span>
                </button>
              </li>
            ) : null}
          </ul>
        </div>
      )}
    </Popover>
  );
}
