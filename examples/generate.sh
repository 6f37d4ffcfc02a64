#!/usr/bin/env bash
# Regenerates the API artifacts in examples/ from the code:
#   openapi.json                     the OpenAPI document (as served at /api/openapi.json)
#   latchkey.postman_collection.json a Postman collection converted from it
# Run after changing a route; a test fails while openapi.json is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --quiet -- openapi > examples/openapi.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx --yes openapi-to-postmanv2@6.3.3 -s examples/openapi.json -o "$work/collection.json" -p \
    -O folderStrategy=Tags >/dev/null
# Point the collection at a local server (change baseUrl in Postman for yours), and drop the
# converter's random ids (Postman assigns its own on import) so regenerating is reproducible.
node -e '
const fs = require("fs");
const collection = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const dropIds = (node) => {
  if (Array.isArray(node)) node.forEach(dropIds);
  else if (node && typeof node === "object") {
    delete node.id;
    delete node._postman_id;
    Object.values(node).forEach(dropIds);
  }
};
dropIds(collection);
collection.variable = [{ key: "baseUrl", value: "http://127.0.0.1:8080" }];
fs.writeFileSync(process.argv[2], JSON.stringify(collection, null, 2) + "\n");
' "$work/collection.json" examples/latchkey.postman_collection.json
echo "wrote examples/openapi.json and examples/latchkey.postman_collection.json"
