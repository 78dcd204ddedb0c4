#!/usr/bin/env bash
# Example: the label job on Dataflow with one NVIDIA L4 per worker.
# Status: written, not run (no GCP project here). Fill in the variables.
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?container built from deploy/Dockerfile.gpu}"
cd "$(dirname "$0")/.."
worker=$(deploy/build-worker.sh)
go build -o bin/groundbeam ./cmd/groundbeam
bin/groundbeam label \
  --input "gs://$BUCKET/shards/*.tar" \
  --output "gs://$BUCKET/corpus" \
  --teacher /opt/models/teacher --clip /opt/models/clip \
  --provider cuda --batch-size 16 \
  --runner dataflow --project "$PROJECT" --region "$REGION" \
  --staging_location "gs://$BUCKET/staging" --temp_location "gs://$BUCKET/tmp" \
  --sdk_container_image "$IMAGE" --worker_binary "$worker" \
  --resource_hints 'accelerator=type:nvidia-l4;count:1;install-nvidia-driver'
