#!/usr/bin/env bash
# Regenerates the API artifacts in examples/ from the code:
#   openapi.json                     the OpenAPI document (as served at /api/openapi.json)
#   latchkey.postman_collection.json the flow of latchkey.http, for Postman and newman
# Run after changing a route; a test fails while openapi.json is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --quiet -- openapi > examples/openapi.json
node examples/postman.mjs
echo "wrote examples/openapi.json and examples/latchkey.postman_collection.json"
