// Two requests through Node's keep-alive agent, the first asking the server to close
// (`Connection: close`); prints what each got as JSON. A server that closes without saying so
// in the response makes the agent reuse the dead socket: "socket hang up".
// usage: node keepalive.js URL
const http = require("http");

const [url] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const results = [];

function get(headers) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection || null }));
    });
    req.on("error", (err) => resolve({ error: String(err.message || err) }));
  });
}

(async () => {
  results.push(await get({ Connection: "close" }));
  await new Promise((r) => setTimeout(r, 100));
  results.push(await get({}));
  console.log(JSON.stringify(results));
  agent.destroy();
})();
