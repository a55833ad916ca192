// Connects the official socket.io-client with auth: {token} and reports what happened, as JSON:
// {connected, error: {message, data}}. usage: node auth.js URL TOKEN TRANSPORT
const { io } = require("socket.io-client");

const [url, token, transport] = process.argv.slice(2);
const result = { connected: false, error: null, members: null };
const done = (code) => {
  console.log(JSON.stringify(result));
  process.exit(code);
};
setTimeout(() => { result.error = { message: "timeout" }; done(1); }, 15000);

const socket = io(url, { auth: token ? { token } : undefined, transports: [transport], reconnection: false });
socket.on("connect_error", (err) => {
  result.error = { message: err.message, data: err.data || null };
  done(0);
});
socket.on("connect", () => {
  result.connected = true;
  socket.emit("join", { room: "node-room", name: "ignored" }, (ack) => {
    result.members = ack.members;
    socket.close();
    done(0);
  });
});
