// Connects the official socket.io-client (Node) to a gateway, does
// sendMessage -> helloBack, and prints what a user would see as JSON.
// usage: node hello.js URL '["polling"]' [upgrade=true|false]
const { io } = require("socket.io-client");

const [url, transportsJson, upgradeArg] = process.argv.slice(2);
const socket = io(url, {
  transports: JSON.parse(transportsJson),
  upgrade: upgradeArg !== "false",
  reconnection: false,
  timeout: 5000,
});
const result = { connected: false, first: null, transport: null, reply: null, upgraded: false };
// The Manager's "open" fires on the Engine.IO handshake, before any upgrade probe.
socket.io.on("open", () => {
  result.first = socket.io.engine.transport.name;
  socket.io.engine.on("upgrade", () => { result.upgraded = true; });
});
const done = (code) => {
  result.transport = socket.io.engine ? socket.io.engine.transport.name : null;
  console.log(JSON.stringify(result));
  socket.close();
  process.exit(code);
};
setTimeout(() => { result.error = "timeout"; done(1); }, 10000);
socket.on("connect_error", (err) => { result.error = String(err.message || err); done(1); });
socket.on("connect", () => {
  result.connected = true;
  socket.emit("sendMessage", { message: "hi" });
});
socket.on("helloBack", (data) => {
  result.reply = data.message;
  // When an upgrade is allowed, wait (up to 3 s) for it, so the reported transport is settled.
  const started = Date.now();
  const settle = () => {
    const pending = socket.io.opts.upgrade && result.first === "polling" && !result.upgraded;
    if (pending && Date.now() - started < 3000) return setTimeout(settle, 50);
    done(0);
  };
  settle();
});
