// verify-standardwebhooks.js: verifies captured ovfinit events with the
// npm standardwebhooks package, as a manager would.
//
//   NODE_PATH=<dir>/node_modules node verify-standardwebhooks.js requests.json
//
// requests.json is [{"secret": "...", "headers": {...}, "body": "...",
// "now": <Unix ms, optional>}]; with "now" the timestamp is checked against
// that time, when the receiver got the request, rather than the clock's.
// A "whsec_..." secret is given to the library as is; any other secret is
// the raw key, its UTF-8 bytes, given with {format: "raw"}. Prints one JSON
// line per request: {"n": i, "ok": true, "id": <id from the payload>} or
// {"n": i, "ok": false, "error": "..."}.
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const reqs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const clock = Date.now;
reqs.forEach((r, n) => {
  Date.now = r.now ? () => r.now : clock;
  try {
    const wh = r.secret.startsWith("whsec_")
      ? new Webhook(r.secret)
      : new Webhook(new Uint8Array(Buffer.from(r.secret, "utf8")), { format: "raw" });
    const payload = wh.verify(r.body, r.headers);
    console.log(JSON.stringify({ n, ok: true, id: payload.id }));
  } catch (e) {
    console.log(JSON.stringify({ n, ok: false, error: String(e && e.message) }));
  }
});
