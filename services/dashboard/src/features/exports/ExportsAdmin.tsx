import { useState, type FormEvent, type ReactNode } from "react";
import { useChannels } from "../../api/queries";
import { CATEGORIES, PRIORITIES, TARGET_KINDS, type Category, type ExportTarget, type Priority, type TargetKind } from "../../api/types";
import { Popover } from "../../components/Popover";
import { Field, FormError } from "../../components/FormDialog";
import { QueryView, type ViewableQuery } from "../../components/QueryView";
import { LoadingState, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import type { MessageKey } from "../../i18n/en";
import { useI18n } from "../../i18n/I18nProvider";
import "./Exports.css";
import {
  useCreateRule,
  useCreateTarget,
  useDeleteRule,
  useDeleteTarget,
  useExportRules,
  useExportTargets,
  useToggleRule,
  useUpdateTarget,
} from "./queries";

/** The settings fields of each kind of target, in the order the form asks for them. */
const FIELDS: Record<TargetKind, Array<{ name: string; label: MessageKey; placeholder: string; required: boolean }>> = {
  github: [
    { name: "repository", label: "exports.field.repository", placeholder: "owner/name", required: true },
    { name: "api_url", label: "exports.field.apiUrl", placeholder: "https://api.github.com", required: false },
  ],
  jira: [
    { name: "base_url", label: "exports.field.baseUrl", placeholder: "https://your-site.atlassian.net", required: true },
    { name: "email", label: "exports.field.email", placeholder: "bot@example.com", required: true },
    { name: "project_key", label: "exports.field.projectKey", placeholder: "OPS", required: true },
    { name: "issue_type", label: "exports.field.issueType", placeholder: "Task", required: false },
  ],
  linear: [
    { name: "team_id", label: "exports.field.teamId", placeholder: "", required: true },
    { name: "api_url", label: "exports.field.apiUrl", placeholder: "https://api.linear.app/graphql", required: false },
  ],
  webhook: [{ name: "url", label: "exports.field.url", placeholder: "https://hooks.example.com/tasks", required: true }],
};

function where(target: ExportTarget): string {
  const key = { github: "repository", jira: "project_key", linear: "team_id", webhook: "url" }[target.kind];
  const value = target.config[key];
  return typeof value === "string" ? value : "";
}

/** Export targets and routing rules: the admin page's *Exports* section (`/admin/exports`). */
export function ExportsSection() {
  return (
    <div className="exports-admin">
      <TargetsPanel />
      <RulesPanel />
    </div>
  );
}

/** One panel of the page: a heading, a line of help, the list as a table (or its loading, error or
 * empty state), then whatever adds to it. */
function Panel<T>({
  id,
  title,
  help,
  query,
  empty,
  columns,
  row,
  children,
}: {
  id: string;
  title: string;
  help: string;
  query: ViewableQuery<T[]>;
  empty: string;
  columns: string[];
  row: (item: T) => ReactNode;
  children?: ReactNode;
}) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <p className="muted">{help}</p>
      <QueryView query={query} loading={<LoadingState rows={2} />} empty={<p className="muted">{empty}</p>}>
        {(items) => (
          <table className="exports-table">
            <thead>
              <tr>
                {columns.map((column) => (
                  <th key={column}>{column}</th>
                ))}
                <th />
              </tr>
            </thead>
            <tbody>{items.map(row)}</tbody>
          </table>
        )}
      </QueryView>
      {children}
    </section>
  );
}

/** The switch that turns a target or rule on and off. */
function EnabledCell({ label, checked, onChange }: { label: string; checked: boolean; onChange: (enabled: boolean) => void }) {
  return (
    <td>
      <input type="checkbox" aria-label={label} checked={checked} onChange={(event) => onChange(event.target.checked)} />
    </td>
  );
}

function DeleteButton({ label, onDelete }: { label: string; onDelete: () => void }) {
  const { t } = useI18n();
  return (
    <button type="button" className="btn btn--ghost btn--sm" onClick={onDelete} aria-label={label}>
      {t("action.delete")}
    </button>
  );
}

function TargetsPanel() {
  const { t } = useI18n();
  const toast = useToast();
  const targets = useExportTargets();
  const update = useUpdateTarget();
  const remove = useDeleteTarget();
  const fail = (error: unknown) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) });
  return (
    <Panel
      id="export-targets"
      title={t("exports.targets")}
      help={t("exports.targetsHelp")}
      query={targets}
      empty={t("exports.noTargets")}
      columns={[
        t("exports.field.name"),
        t("exports.field.kind"),
        t("exports.field.where"),
        t("exports.field.syncBack"),
        t("exports.field.exports"),
        t("exports.field.enabled"),
      ]}
      row={(target) => (
        <tr key={target.id}>
          <td>{target.name}</td>
          <td>{t(`exports.kind.${target.kind}`)}</td>
          <td>
            <code>{where(target)}</code>
          </td>
          <td>
            {target.webhook_path ? (
              target.has_webhook_secret ? <code>{target.webhook_path}</code> : <span className="muted">{t("exports.noSyncBack")}</span>
            ) : (
              "—"
            )}
          </td>
          <td>{target.exports}</td>
          <EnabledCell
            label={t("exports.enable", { name: target.name })}
            checked={target.enabled}
            onChange={(enabled) => update.mutate({ id: target.id, patch: { enabled } }, { onError: fail })}
          />
          <td>
            <ReplaceToken target={target} />{" "}
            <DeleteButton label={t("exports.delete", { name: target.name })} onDelete={() => remove.mutate(target.id, { onError: fail })} />
          </td>
        </tr>
      )}
    >
      <NewTargetForm />
    </Panel>
  );
}

function ReplaceToken({ target }: { target: ExportTarget }) {
  const { t } = useI18n();
  const toast = useToast();
  const update = useUpdateTarget();
  const [token, setToken] = useState("");
  return (
    <Popover label={t("exports.replaceToken")} buttonClassName="btn btn--ghost btn--sm" buttonContent={t("exports.replaceToken")} align="end">
      {(close) => (
        <form
          className="form"
          onSubmit={(event) => {
            event.preventDefault();
            update.mutate(
              { id: target.id, patch: { token } },
              {
                onSuccess: () => {
                  setToken("");
                  close();
                  toast.push({ kind: "success", text: t("exports.tokenReplaced", { name: target.name }) });
                },
                onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
              },
            );
          }}
        >
          <Field label={t("exports.field.token")}>
            <input type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} required />
          </Field>
          <div className="form__actions">
            <button type="submit" className="btn btn--primary btn--sm" disabled={!token || update.isPending}>
              {t("action.save")}
            </button>
          </div>
        </form>
      )}
    </Popover>
  );
}

function NewTargetForm() {
  const { t } = useI18n();
  const toast = useToast();
  const create = useCreateTarget();
  const [kind, setKind] = useState<TargetKind>("github");
  const [name, setName] = useState("");
  const [config, setConfig] = useState<Record<string, string>>({});
  const [token, setToken] = useState("");
  const [webhookSecret, setWebhookSecret] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const settings: Record<string, string> = {};
    for (const field of FIELDS[kind]) {
      const value = (config[field.name] ?? "").trim();
      if (value) settings[field.name] = value;
    }
    create.mutate(
      { name: name.trim(), kind, enabled: true, config: settings, token, ...(webhookSecret && kind !== "webhook" ? { webhook_secret: webhookSecret } : {}) },
      {
        onSuccess: (target) => {
          toast.push({ kind: "success", text: t("exports.targetAdded", { name: target.name }) });
          setName("");
          setConfig({});
          setToken("");
          setWebhookSecret("");
        },
      },
    );
  };

  return (
    <form className="form" onSubmit={submit} aria-labelledby="new-target">
      <h3 id="new-target">{t("exports.newTarget")}</h3>
      <div className="form__row">
        <Field label={t("exports.field.kind")}>
          <select value={kind} onChange={(event) => setKind(event.target.value as TargetKind)}>
            {TARGET_KINDS.map((item) => (
              <option key={item} value={item}>
                {t(`exports.kind.${item}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("exports.field.name")}>
          <input value={name} onChange={(event) => setName(event.target.value)} required maxLength={200} />
        </Field>
      </div>
      <div className="form__row">
        {FIELDS[kind].map((field) => (
          <Field key={field.name} label={t(field.label)}>
            <input
              value={config[field.name] ?? ""}
              placeholder={field.placeholder}
              required={field.required}
              onChange={(event) => setConfig({ ...config, [field.name]: event.target.value })}
            />
          </Field>
        ))}
      </div>
      <div className="form__row">
        <Field label={t(`exports.tokenLabel.${kind}`)}>
          <input type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} required />
        </Field>
        {kind !== "webhook" ? (
          <Field label={t("exports.field.webhookSecret")}>
            <input type="password" autoComplete="off" value={webhookSecret} onChange={(event) => setWebhookSecret(event.target.value)} />
          </Field>
        ) : null}
      </div>
      <FormError error={create.error} />
      <div className="form__actions">
        <button type="submit" className="btn btn--primary" disabled={create.isPending}>
          {t("exports.addTarget")}
        </button>
      </div>
    </form>
  );
}

function RulesPanel() {
  const { t } = useI18n();
  const toast = useToast();
  const rules = useExportRules();
  const targets = useExportTargets();
  const channels = useChannels();
  const create = useCreateRule();
  const toggle = useToggleRule();
  const remove = useDeleteRule();
  const [targetId, setTargetId] = useState("");
  const [channelId, setChannelId] = useState("");
  const [category, setCategory] = useState("");
  const [priority, setPriority] = useState("");
  const fail = (error: unknown) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) });
  const targetName = (id: number) => targets.data?.find((target) => target.id === id)?.name ?? `#${id}`;
  const channelName = (id: number | null) =>
    id === null ? t("exports.any") : (channels.data?.data.find((channel) => channel.id === id)?.name ?? `#${id}`);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      {
        target_id: Number(targetId),
        channel_id: channelId ? Number(channelId) : null,
        category: (category || null) as Category | null,
        priority: (priority || null) as Priority | null,
        enabled: true,
      },
      { onError: fail },
    );
  };

  return (
    <Panel
      id="export-rules"
      title={t("exports.rules")}
      help={t("exports.rulesHelp")}
      query={rules}
      empty={t("exports.noRules")}
      columns={[
        t("exports.field.target"),
        t("exports.field.channel"),
        t("exports.field.category"),
        t("exports.field.priority"),
        t("exports.field.enabled"),
      ]}
      row={(rule) => (
        <tr key={rule.id}>
          <td>{targetName(rule.target_id)}</td>
          <td>{channelName(rule.channel_id)}</td>
          <td>{rule.category ? t(`category.${rule.category}` as MessageKey) : t("exports.any")}</td>
          <td>{rule.priority ? t(`priority.${rule.priority}` as MessageKey) : t("exports.any")}</td>
          <EnabledCell
            label={t("exports.enableRule", { id: rule.id })}
            checked={rule.enabled}
            onChange={(enabled) => toggle.mutate({ id: rule.id, enabled }, { onError: fail })}
          />
          <td>
            <DeleteButton label={t("exports.deleteRule", { id: rule.id })} onDelete={() => remove.mutate(rule.id, { onError: fail })} />
          </td>
        </tr>
      )}
    >
      {targets.data?.length ? (
        <form className="form" onSubmit={submit} aria-labelledby="new-rule">
          <h3 id="new-rule">{t("exports.newRule")}</h3>
          <div className="form__row">
            <Field label={t("exports.field.target")}>
              <select value={targetId} onChange={(event) => setTargetId(event.target.value)} required>
                <option value="" disabled>
                  {t("exports.pickTarget")}
                </option>
                {targets.data.map((target) => (
                  <option key={target.id} value={target.id}>
                    {target.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("exports.field.channel")}>
              <select value={channelId} onChange={(event) => setChannelId(event.target.value)}>
                <option value="">{t("exports.any")}</option>
                {(channels.data?.data ?? []).map((channel) => (
                  <option key={channel.id} value={channel.id}>
                    {channel.name}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="form__row">
            <Field label={t("exports.field.category")}>
              <select value={category} onChange={(event) => setCategory(event.target.value)}>
                <option value="">{t("exports.any")}</option>
                {CATEGORIES.map((item) => (
                  <option key={item} value={item}>
                    {t(`category.${item}`)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("exports.field.priority")}>
              <select value={priority} onChange={(event) => setPriority(event.target.value)}>
                <option value="">{t("exports.any")}</option>
                {PRIORITIES.map((item) => (
                  <option key={item} value={item}>
                    {t(`priority.${item}`)}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="form__actions">
            <button type="submit" className="btn btn--primary" disabled={create.isPending}>
              {t("exports.addRule")}
            </button>
          </div>
        </form>
      ) : null}
    </Panel>
  );
}
