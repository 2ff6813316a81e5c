#!/bin/sh
# Entry point of the cdp-emulator image. Points the emulator at mounted configuration, then
# replaces itself with the command (exec), so node runs as PID 1 and receives SIGTERM directly.
#
#   /config/scenarios  folder of scenario files  -> CDP_EMULATOR_SCENARIOS
#   /config/schemas    folder of object schemas  -> CDP_EMULATOR_SCHEMAS
#
# Each is used only when the folder exists and is not empty, and only when the variable is not
# already set: an explicit CDP_EMULATOR_* (or a --scenarios/--schemas flag) always wins. With
# nothing mounted, the bundled scenarios/ and schemas/objects/ inside the image are used.
set -eu

nonempty() { [ -d "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; }

if [ -z "${CDP_EMULATOR_SCENARIOS:-}" ] && nonempty /config/scenarios; then
  export CDP_EMULATOR_SCENARIOS=/config/scenarios
fi
if [ -z "${CDP_EMULATOR_SCHEMAS:-}" ] && nonempty /config/schemas; then
  export CDP_EMULATOR_SCHEMAS=/config/schemas
fi

# `docker run IMAGE --port 5000` (flags only): hand them to the CLI.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- node /app/dist/cli.js start "$@"
fi
exec "$@"
