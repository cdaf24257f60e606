"""What the bot says, as Telegram HTML. Everything that came from users is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from tasktracker.channels.telegram import ChatStatus
from tasktracker.tasks.schemas import TaskPublic

PRIORITY_MARK = {"urgent": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪"}

HELP = (
    "I turn this chat's messages into tracked tasks: every text is stored and classified as a bug, "
    "feature, question, task or noise, and actionable ones become tasks on the dashboard.\n\n"
    "/tasks — open tasks of this chat\n"
    "/task <i>id</i> — one task\n"
    "/done <i>id</i> — mark a task completed\n"
    "/status — pipeline health\n"
    "/mute, /unmute — stop or resume reading this chat\n"
    "/help — this text"
)


def task_link(public_url: str, task_id: int) -> str | None:
    return f"{public_url.rstrip('/')}/tasks/{task_id}" if public_url else None


def _title(task: TaskPublic, public_url: str) -> str:
    link = task_link(public_url, task.id)
    title = escape(task.title)
    return f'<a href="{escape(link)}">{title}</a>' if link else title


def not_linked(telegram_user_id: int | None) -> str:
    who = f" (your Telegram id is <code>{telegram_user_id}</code>)" if telegram_user_id else ""
    return (
        "Sorry, only people with a Task Tracker account can do that here. An admin can link your "
        f"Telegram account to yours{who}."
    )


def needs_role(username: str, role: str) -> str:
    return f"Sorry, {escape(username)}, that needs the {escape(role)} role in Task Tracker."


def refusal(chat_id: int) -> str:
    return (
        "Sorry, this chat is not connected to Task Tracker, so I am not reading it and nothing here is "
        f"stored. An administrator can allow it by adding <code>{chat_id}</code> to "
        "<code>TASKTRACKER_TELEGRAM_CHATS</code>."
    )


def task_list(tasks: list[TaskPublic], public_url: str) -> str:
    if not tasks:
        return "No open tasks in this chat. 🎉"
    lines = [f"<b>Open tasks of this chat</b> ({len(tasks)}{'+' if len(tasks) >= 10 else ''}):"]
    for task in tasks:
        mark = PRIORITY_MARK.get(task.priority, "•")
        lines.append(
            f"{mark} #{task.id} {_title(task, public_url)} — {escape(task.category)}, {escape(task.status)}"
        )
    return "\n".join(lines)


def task_detail(task: TaskPublic, public_url: str) -> str:
    lines = [
        f"<b>#{task.id} {escape(task.title)}</b>",
        f"{escape(task.category)} · {PRIORITY_MARK.get(task.priority, '')} {escape(task.priority)} · {escape(task.status)}",
    ]
    if task.assignee:
        lines.append(f"assignee: {escape(task.assignee)}")
    if task.labels:
        lines.append("labels: " + ", ".join(escape(label) for label in task.labels))
    if task.needs_review:
        lines.append("<i>waiting for a person to review the classification</i>")
    link = task_link(public_url, task.id)
    if link:
        lines.append(f'<a href="{escape(link)}">open in the dashboard</a>')
    return "\n".join(lines)


def done(task: TaskPublic, changed: bool) -> str:
    if changed:
        return f"✅ #{task.id} {escape(task.title)} is completed."
    return f"#{task.id} {escape(task.title)} was already {escape(task.status)}."


def created(task: Mapping[str, Any], public_url: str) -> str:
    task_id = int(task["id"])
    priority = str(task.get("priority", ""))
    lines = [
        f"📝 Task #{task_id}: <b>{escape(str(task.get('title', '')))}</b>",
        f"{PRIORITY_MARK.get(priority, '')} {escape(priority)} · {escape(str(task.get('category', '')))}",
    ]
    link = task_link(public_url, task_id)
    if link:
        lines.append(f'<a href="{escape(link)}">open in the dashboard</a>')
    return "\n".join(lines)


def status(chat: ChatStatus, checks: dict[str, str]) -> str:
    def counts(values: dict[str, int]) -> str:
        order = ("received", "classifying", "classified", "failed")
        return ", ".join(f"{values.get(key, 0)} {key}" for key in order)

    waiting = chat.everywhere.get("received", 0) + chat.everywhere.get("classifying", 0)
    lines = ["<b>Pipeline</b>"]
    lines += [
        f"{'✅' if state == 'ok' else '⚠️'} {escape(name)}: {escape(state)}" for name, state in checks.items()
    ]
    lines.append(f"waiting for classification: {waiting}, failed: {chat.everywhere.get('failed', 0)}")
    lines.append("")
    lines.append("<b>This chat</b>")
    lines.append(f"messages: {counts(chat.chat)}")
    lines.append(f"open tasks: {chat.open_tasks}")
    lines.append("muted: yes — /unmute to resume" if chat.muted else "muted: no")
    return "\n".join(lines)


MUTED = "🔇 Muted: I stop reading this chat until /unmute. Nothing written meanwhile is stored."
UNMUTED = "🔊 Unmuted: I read this chat again."
ALREADY_MUTED = "This chat is already muted."
ALREADY_UNMUTED = "This chat is not muted."
ADMINS_ONLY = "Only the chat's administrators can do that."
USAGE_TASK = "Usage: /task <i>id</i>, e.g. /task 12"
USAGE_DONE = "Usage: /done <i>id</i>, e.g. /done 12"
