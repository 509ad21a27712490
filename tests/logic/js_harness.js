// Runs generated logic (forms.logic.to_js) with the CrfLogic runtime, for the pytest suite.
// One process serves many batches: each stdin line is a JSON array of {js, inputs}; each stdout
// line is the JSON array of results, each ["blank"] | ["number", n] | ["string", s] | ["bool", b]
// | ["error", message].
"use strict";
const path = require("path");
const readline = require("readline");

require(path.resolve(process.argv[2]));
const R = globalThis.CrfLogic;

function encode(value) {
  if (value === "") return ["blank"];
  if (typeof value === "number") return Number.isFinite(value) ? ["number", value] : ["error", "non-finite " + value];
  if (typeof value === "boolean") return ["bool", value];
  if (typeof value === "string") return ["string", value];
  return ["error", "unexpected " + typeof value + ": " + String(value)];
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  const batch = JSON.parse(line);
  const results = batch.map((item) => {
    try {
      const run = R.compile(item.js);
      return encode(run(R.dictContext(item.inputs)));
    } catch (error) {
      return ["error", String(error && error.stack ? error.stack : error)];
    }
  });
  process.stdout.write(JSON.stringify(results) + "\n");
});
