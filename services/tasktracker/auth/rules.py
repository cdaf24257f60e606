"""The `public` marker, here (below the API) so that adapters outside `tasktracker.api` (the Telegram
webhook) can mark their routes too. The role rules are in `tasktracker.api.access`."""

from fastapi import Depends


async def no_user_needed() -> None:
    """Marks a route open to anyone: it checks its callers itself (a signature) or needs no check."""


no_user_needed.public = True  # type: ignore[attr-defined]  # read by access.rule_of
public = Depends(no_user_needed)
