"""Accounts at API start: the admin the settings name, and the sign-in link of `tasktracker run`.

* `TASKTRACKER_ADMIN_USERNAME` + `TASKTRACKER_ADMIN_PASSWORD` (or `_FILE`, a mounted Secret): that
  admin is created when no user of that name exists; an existing user is never changed (so a password
  changed in the dashboard stays changed).
* `tasktracker run` (`announce_login`): on an installation without users, creates `admin` with a
  random password nobody sees, and prints a one-time sign-in link; in development it prints a fresh
  link on every start, as notebook servers do. The link is printed, never logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from tasktracker.auth import service
from tasktracker.config import Environment
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


async def accounts(runtime: Runtime, announce_login: str | None) -> None:
    settings = runtime.settings
    if not settings.auth_on:
        return
    if settings.admin_username and settings.admin_password is not None:
        try:
            async with unit_of_work(runtime) as uow:
                await service.ensure_admin(
                    uow.session,
                    settings.admin_username,
                    settings.admin_password.get_secret_value(),
                    settings.admin_email or None,
                )
        except IntegrityError:  # another replica created it at the same moment
            log.info("admin %s exists", settings.admin_username)
    if announce_login is None:
        return
    async with unit_of_work(runtime) as uow:
        every_start = settings.environment is Environment.development
        user = await service.link_user_at_start(uow.session, every_start=every_start)
        if user is None:
            return
        ttl = timedelta(seconds=settings.login_link_ttl_s)
        value = await service.one_time(uow.session, user, "login", ttl)
    minutes = settings.login_link_ttl_s / 60
    print(
        f"Open {announce_login.rstrip('/')}/api/auth/link?token={value}\n"
        f"  (signs in as {user.username}; works once, for {minutes:g} minutes; "
        f"`tasktracker user link {user.username}` makes another)",
        flush=True,
    )
