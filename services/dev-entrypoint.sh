#!/bin/sh
# The dev image's entrypoint (services/Dockerfile, target dev): long-running roles restart on every
# change of the synced sources; one-shot commands (migrate, bot set-webhook, ...) run once.
set -eu
[ "$#" -gt 0 ] || set -- api
case "$1" in
  api|worker|run)
    exec watchfiles --filter python --target-type command "tasktracker $*" /app/services/tasktracker ;;
  bot)
    if [ "$#" -eq 1 ]; then
      exec watchfiles --filter python --target-type command "tasktracker bot" /app/services/tasktracker
    fi
    exec tasktracker "$@" ;;
  *)
    exec tasktracker "$@" ;;
esac
