// Connects the official socket.io-client the way the page does: with the
// gateway's own /policy as io() options. Does sendMessage -> helloBack and
// prints what a user would see as JSON, with the time to the reply.
// usage: node policy.js URL
const { io } = require("socket.io-client");

const [url] = process.argv.slice(2);
const started = Date.now();
const result = { policy: null, connected: false, transport: null, reply: null, seconds: null };
const done = (code) => {
  console.log(JSON.stringify(result));
  process.exit(code);
};
setTimeout(() => { result.error = "timeout"; done(1); }, 15000);

fetch(new URL("/policy", url)).then((r) => r.json()).then((policy) => {
  result.policy = policy;
  const socket = io(url, { ...policy, reconnection: false, timeout: 5000 });
  socket.on("connect_error", (err) => { result.error = String(err.message || err); done(1); });
  socket.on("connect", () => {
    result.connected = true;
    socket.emit("sendMessage", { message: "hi" });
  });
  socket.on("helloBack", (data) => {
    result.reply = data.message;
    result.seconds = (Date.now() - started) / 1000;
    result.transport = socket.io.engine.transport.name;
    socket.close();
    done(0);
  });
}, (err) => { result.error = String(err); done(1); });
