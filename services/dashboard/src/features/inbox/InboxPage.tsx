import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useChannels, useMessageList, usePostMessage, useRetryMessage } from "../../api/queries";
import { CATEGORIES, MESSAGE_STATUSES, isOneOf, type Message, type MessageQuery } from "../../api/types";
import { useCan } from "../../auth/session";
import { Avatar, CategoryChip, ChannelTag, ConfidenceMeter, PriorityBadge, RelativeTime } from "../../components/Badges";
import "../../components/Feed.css";
import { Field, FormDialog } from "../../components/FormDialog";
import { Icon } from "../../components/Icon";
import { ReadOnlyBadge } from "../../components/ReadOnlyBadge";
import { useDebouncedField } from "../../hooks/useDebouncedField";
import { MultiSelectMenu } from "../../components/Popover";
import { QueryView } from "../../components/QueryView";
import { EmptyState, LoadMore, Spinner, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n } from "../../i18n/I18nProvider";

export function parseInboxQuery(params: URLSearchParams): MessageQuery {
  const query: MessageQuery = { limit: 50 };
  const status = params.get("status");
  if (isOneOf(MESSAGE_STATUSES, status)) query.status = [status];
  const categories = params.getAll("category").filter((value) => isOneOf(CATEGORIES, value));
  if (categories.length) query.category = CATEGORIES.filter((value) => categories.includes(value));
  const channel = params.get("channel");
  if (channel) query.channel = [channel];
  const q = params.get("q")?.trim();
  if (q) query.q = q;
  return query;
}

function MessageStatusPill({ status }: { status: string }) {
  const { label } = useI18n();
  return (
    <span className={`pill pill--${status}`} data-status={status}>
      {status === "classifying" || status === "received" ? <span className="pill__pulse" aria-hidden="true" /> : null}
      {label("messageStatus", status)}
    </span>
  );
}

function MessageRow({ message, fresh }: { message: Message; fresh: boolean }) {
  const { t, formatNumber } = useI18n();
  const canEdit = useCan("editor");
  const c = message.classification;
  return (
    <li className={`feed__item${fresh ? " feed__item--fresh" : ""}`} data-message-id={message.id} data-testid="message">
      <Avatar name={message.author ?? message.channel.name} size={28} />
      <div className="feed__main">
        <div className="feed__head">
          <span className="feed__author">{message.author ?? t("inbox.anonymous")}</span>
          <ChannelTag channel={message.channel} />
          <RelativeTime iso={message.sent_at} />
          <span className="feed__spacer" />
          <MessageStatusPill status={message.status} />
        </div>
        <p className="feed__content">{message.content}</p>
        {c ? (
          <div className="feed__classification" aria-label={t("inbox.classification")}>
            <CategoryChip category={c.category} size="sm" />
            <PriorityBadge priority={c.priority} />
            <ConfidenceMeter value={c.confidence} />
            <span className="model-tag" title={t("field.model")}>
              {c.model}
            </span>
            <span className="muted" title={t("field.latency")}>
              {formatNumber(Math.round(c.latency_ms))} ms
            </span>
            <span className="feed__spacer" />
            {message.task_id ? (
              <Link className="task-link" to={`/tasks/${message.task_id}`}>
                <Icon name="link" size={14} />
                {t("inbox.task", { id: message.task_id })}
              </Link>
            ) : c.category === "noise" || !c.actionable ? (
              <span className="muted">{t("inbox.noTask")}</span>
            ) : null}
          </div>
        ) : message.status === "failed" ? (
          <div className="feed__failed">
            <p>{t("inbox.failed")}</p>
            {canEdit ? <RetryButton id={message.id} /> : null}
          </div>
        ) : null}
      </div>
    </li>
  );
}

function RetryButton({ id }: { id: number }) {
  const { t } = useI18n();
  const retry = useRetryMessage();
  const toast = useToast();
  const onClick = () =>
    retry.mutate(id, {
      onSuccess: () => toast.push({ kind: "success", text: t("inbox.retried") }),
      onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
    });
  return (
    <button type="button" className="btn btn--ghost btn--sm" onClick={onClick} disabled={retry.isPending}>
      {retry.isPending ? <Spinner /> : <Icon name="refresh" size={14} />} {t("action.retryNow")}
    </button>
  );
}

function ComposeDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const post = usePostMessage();
  const toast = useToast();
  const [content, setContent] = useState("");
  const [author, setAuthor] = useState("");
  const [channel, setChannel] = useState("api");
  const submit = () =>
    post.mutate(
      { content: content.trim(), author: author.trim() || null, channel: channel.trim() || "api" },
      {
        onSuccess: () => {
          toast.push({ kind: "success", text: t("inbox.sent") });
          setContent("");
          post.reset();
          onClose();
        },
      },
    );
  return (
    <FormDialog
      open={open}
      onClose={onClose}
      title={t("inbox.compose")}
      onSubmit={submit}
      submitLabel={
        <>
          <Icon name="send" /> {t("action.send")}
        </>
      }
      canSubmit={Boolean(content.trim())}
      pending={post.isPending}
      error={post.error}
    >
      <Field label={t("field.message")}>
        <textarea required autoFocus rows={4} value={content} onChange={(event) => setContent(event.target.value)} />
      </Field>
      <div className="form__row">
        <Field label={t("field.author")}>
          <input value={author} onChange={(event) => setAuthor(event.target.value)} maxLength={200} />
        </Field>
        <Field label={t("field.channel")}>
          <input value={channel} onChange={(event) => setChannel(event.target.value)} maxLength={200} />
        </Field>
      </div>
    </FormDialog>
  );
}

/**
 * Rows that arrive after the first load are fresh for two seconds (they get a brief highlight).
 * `rows` is null until the first load.
 */
function useFreshRows(rows: Message[] | null): (id: number) => boolean {
  const [seen, setSeen] = useState<ReadonlySet<number> | null>(null);
  if (seen === null && rows !== null) setSeen(new Set(rows.map((row) => row.id)));
  const fresh = seen && rows ? rows.filter((row) => !seen.has(row.id)).map((row) => row.id) : [];
  const freshKey = fresh.join(",");
  useEffect(() => {
    if (!freshKey) return;
    const ids = freshKey.split(",").map(Number);
    const timer = setTimeout(() => setSeen((all) => new Set([...(all ?? []), ...ids])), 2000);
    return () => clearTimeout(timer);
  }, [freshKey]);
  return (id) => seen !== null && !seen.has(id);
}

export function InboxPage() {
  const { t, label, plural } = useI18n();
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => parseInboxQuery(params), [params]);
  const messages = useMessageList(query);
  const channels = useChannels();
  const [composing, setComposing] = useState(false);
  const canEdit = useCan("editor");
  usePageTitle(t("nav.inbox"));

  const rows = messages.data?.pages.flatMap((page) => page.data) ?? [];
  const isFresh = useFreshRows(messages.data ? rows : null);

  const update = (mutate: (next: URLSearchParams) => void) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        mutate(next);
        return next;
      },
      { replace: true },
    );

  const [search, setSearch] = useDebouncedField(query.q ?? "", (next) =>
    update((params) => (next.trim() ? params.set("q", next.trim()) : params.delete("q"))),
  );

  const selectedCategories = query.category ?? [];

  return (
    <div className="page">
      <header className="page__header">
        <h1>{t("nav.inbox")}</h1>
        <span className="page__subtitle">{t("inbox.subtitle")}</span>
        <span className="page__spacer" />
        {canEdit ? (
          <button type="button" className="btn btn--primary" onClick={() => setComposing(true)}>
            <Icon name="plus" /> {t("inbox.compose")}
          </button>
        ) : (
          <ReadOnlyBadge />
        )}
      </header>
      <div className="toolbar" role="search" aria-label={t("filters.label")}>
        <label className="search-field">
          <Icon name="search" />
          <span className="visually-hidden">{t("filters.search")}</span>
          <input
            type="search"
            data-search
            placeholder={t("inbox.searchPlaceholder")}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </label>
        <label className="select-chip">
          <span className="visually-hidden">{t("field.status")}</span>
          <select
            value={query.status?.[0] ?? ""}
            onChange={(event) => update((next) => (event.target.value ? next.set("status", event.target.value) : next.delete("status")))}
            className={query.status ? "is-active" : undefined}
          >
            <option value="">{t("filters.anyStatus")}</option>
            {MESSAGE_STATUSES.map((value) => (
              <option key={value} value={value}>
                {label("messageStatus", value)}
              </option>
            ))}
          </select>
        </label>
        <MultiSelectMenu
          label={t("field.category")}
          options={CATEGORIES.map((value) => ({
            value,
            label: label("category", value),
            icon: <span className={`dot cat--${value}`} aria-hidden="true" />,
          }))}
          selected={selectedCategories}
          onChange={(next) =>
            update((params) => {
              params.delete("category");
              for (const value of next) params.append("category", value);
            })
          }
        />
        <label className="select-chip">
          <span className="visually-hidden">{t("field.channel")}</span>
          <select
            value={query.channel?.[0] ?? ""}
            onChange={(event) => update((next) => (event.target.value ? next.set("channel", event.target.value) : next.delete("channel")))}
            className={query.channel?.length ? "is-active" : undefined}
          >
            <option value="">{t("filters.anyChannel")}</option>
            {(channels.data?.data ?? []).map((channel) => (
              <option key={channel.id} value={channel.name}>
                {channel.name}
              </option>
            ))}
          </select>
        </label>
        <span className="toolbar__spacer" />
        {messages.data ? <span className="muted">{plural("count.messages", rows.length)}</span> : null}
        {messages.isFetching && !messages.isPending ? <Spinner /> : null}
      </div>
      <div className="page__body">
        <QueryView
          query={messages}
          empty={
            <EmptyState
              icon="inbox"
              title={t("inbox.empty")}
              action={
                canEdit ? (
                  <button type="button" className="btn" onClick={() => setComposing(true)}>
                    <Icon name="plus" /> {t("inbox.compose")}
                  </button>
                ) : null
              }
            >
              {t("inbox.emptyHint")}
            </EmptyState>
          }
        >
          {() => (
            <>
              <ul className="feed" aria-label={t("inbox.feed")} aria-live="off">
                {rows.map((message) => (
                  <MessageRow key={message.id} message={message} fresh={isFresh(message.id)} />
                ))}
              </ul>
              <LoadMore query={messages} />
            </>
          )}
        </QueryView>
      </div>
      {canEdit ? <ComposeDialog open={composing} onClose={() => setComposing(false)} /> : null}
    </div>
  );
}
