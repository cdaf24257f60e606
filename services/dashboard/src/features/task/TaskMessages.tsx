import type { TaskDetail } from "../../api/types";
import { Avatar, ChannelTag, RelativeTime } from "../../components/Badges";
import "../../components/Feed.css";
import { useI18n } from "../../i18n/I18nProvider";
import { DetailSection } from "./DetailSection";

/** The chat messages behind a task, the one it was created from marked. */
export function TaskMessages({ task }: { task: TaskDetail }) {
  const { t } = useI18n();
  const messages = task.messages ?? [];
  return (
    <DetailSection id="sec-messages" title={t("task.messages")} count={messages.length} empty={messages.length ? null : t("task.noMessages")}>
      <ul className="feed feed--compact">
        {messages.map((message) => (
          <li key={message.id} className="feed__item" data-message-id={message.id}>
            <Avatar name={message.author ?? message.channel.name} size={24} />
            <div className="feed__main">
              <div className="feed__head">
                <span className="feed__author">{message.author ?? t("inbox.anonymous")}</span>
                <ChannelTag channel={message.channel} />
                <RelativeTime iso={message.sent_at} />
                {message.id === task.source_message_id ? <span className="badge">{t("task.source")}</span> : null}
              </div>
              <p className="feed__content">{message.content}</p>
            </div>
          </li>
        ))}
      </ul>
    </DetailSection>
  );
}
