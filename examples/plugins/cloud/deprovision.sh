#!/bin/sh
# Stops the instances named in BATON_FIELD_INSTANCES (a JSON list).
set -eu
list=$(printf '%s' "$BATON_FIELD_INSTANCES" | tr -d '[]" ' | tr ',' ' ')
if [ -z "$list" ]; then
  echo "no instances to stop" >&2
  exit 1
fi
for id in $list; do
  rm -rf "instances/$id"
  echo "stopped $id"
done
echo "stopped=$(printf '%s' "$list" | wc -w | tr -d ' ')" >> "$BATON_OUTPUT"
