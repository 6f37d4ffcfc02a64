// Converts examples/latchkey.http into the Postman collection beside it, so Postman and newman
// run the very flow httpyac and the JetBrains client run: the same requests, in the same order,
// each with a test of its status and the same tokens saved for the requests after it.
//
//   node examples/postman.mjs           writes examples/latchkey.postman_collection.json
//   node examples/postman.mjs --check   fails when the committed collection is not current
//
// It reads the file's own small dialect: `@name = value` variables, `### title` blocks with a
// request line, headers, an optional body, and a `> {% ... %}` handler whose
// `response.status === N` comparisons are the accepted statuses and whose
// `client.global.set("name", response.body.path)` calls are the saved variables.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "latchkey.http");
const target = join(here, "latchkey.postman_collection.json");

function parse(text) {
  const variables = [];
  const requests = [];
  for (const block of text.split(/^###/m)) {
    const lines = block.split("\n");
    const title = lines.shift().trim();
    for (const line of lines) {
      const variable = line.match(/^@(\w+)\s*=\s*(.*)$/);
      if (variable) variables.push({ key: variable[1], value: variable[2].trim() });
    }
    const start = lines.findIndex((line) => /^(GET|POST|PUT|PATCH|DELETE) /.test(line));
    if (start < 0) continue;
    const [method, url] = lines[start].split(" ");
    const rest = lines.slice(start + 1);
    const headers = [];
    while (rest.length && rest[0].trim() !== "") {
      const line = rest.shift();
      const colon = line.indexOf(":");
      headers.push({ key: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    }
    const handlerStart = rest.findIndex((line) => line.startsWith("> {%"));
    const bodyLines = handlerStart < 0 ? rest : rest.slice(0, handlerStart);
    const handler = handlerStart < 0 ? "" : rest.slice(handlerStart).join("\n");
    const statuses = [...handler.matchAll(/response\.status === (\d{3})/g)].map((m) => Number(m[1]));
    if (statuses.length === 0) throw new Error(`"${title}" checks no status`);
    const saves = [...handler.matchAll(/client\.global\.set\("(\w+)", response\.body\.([\w.[\]]+)\)/g)]
      .map((m) => ({ name: m[1], path: m[2] }));
    requests.push({ title, method, url, headers, body: bodyLines.join("\n").trim(), statuses, saves });
  }
  return { variables, requests };
}

function item({ title, method, url, headers, body, statuses, saves }) {
  const test = [
    `pm.test(${JSON.stringify(`answers ${statuses.join(" or ")}`)}, function () {`,
    `    pm.expect(pm.response.code).to.be.oneOf(${JSON.stringify(statuses)});`,
    "});",
    ...saves.map(({ name, path }) =>
      `pm.collectionVariables.set(${JSON.stringify(name)}, pm.response.json().${path});`),
  ];
  const request = { method, header: headers, url };
  if (body) request.body = { mode: "raw", raw: body, options: { raw: { language: "json" } } };
  return { name: title, event: [{ listen: "test", script: { type: "text/javascript", exec: test } }], request };
}

const { variables, requests } = parse(readFileSync(source, "utf8"));
const collection = {
  info: {
    name: "Latchkey",
    description:
      "The flow of examples/latchkey.http (generated from it by examples/postman.mjs): run it " +
      "top to bottom against a fresh server (Collection Runner, or `newman run`). Change `base` " +
      "for your server. The admin requests need the account made as that file says.",
    schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
  },
  item: requests.map(item),
  variable: variables,
};
const json = JSON.stringify(collection, null, 2) + "\n";
if (process.argv.includes("--check")) {
  if (readFileSync(target, "utf8") !== json) {
    console.error("examples/latchkey.postman_collection.json is stale: run examples/generate.sh");
    process.exit(1);
  }
  console.log(`the Postman collection is current (${requests.length} requests)`);
} else {
  writeFileSync(target, json);
}
