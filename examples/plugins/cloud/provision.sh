#!/bin/sh
# Starts BATON_FIELD_COUNT stand-in instances: directories under the
# workspace. Records them as outputs and in the shared context.
set -eu
count=${BATON_FIELD_COUNT:-1}
ids=""
i=0
while [ "$i" -lt "$count" ]; do
  id="i-$(date +%s)-$$-$i"
  mkdir -p "instances/$id"
  echo "$BATON_FIELD_IMAGE" > "instances/$id/image"
  echo "started $id from image $BATON_FIELD_IMAGE"
  ids="${ids:+$ids,}$id"
  i=$((i + 1))
done
echo "instances=$ids" >> "$BATON_OUTPUT"
echo "cloud.instances=$ids" >> "$BATON_CONTEXT"
