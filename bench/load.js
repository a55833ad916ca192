// Load generator: the official socket.io-client, many clients in ONE Node process.
//
// usage: node bench/load.js '<json config>'
// Prints JSON lines on stdout: {"phase": ...} lines while it runs (the idle scenario
// waits for a line on stdin after each phase, so the runner can read the server's RSS
// at that point), then one {"result": {...}} line. Every loop is bounded in count and time.
"use strict";
const http = require("http");
const readline = require("readline");
const { io } = require("socket.io-client");

const config = JSON.parse(process.argv[2]);
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Browsers reuse polling connections (keep-alive); xmlhttprequest-ssl opens one per request otherwise.
const pollingAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function emitLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const stdinLines = [];
let stdinWaiter = null;
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (stdinWaiter) {
    const resolve = stdinWaiter;
    stdinWaiter = null;
    resolve(line);
  } else stdinLines.push(line);
});

/** Tell the runner a phase is reached and wait until it has measured (bounded). */
async function phase(name, extra = {}) {
  emitLine({ phase: name, ...extra });
  if (!config.pauseAtPhases) return;
  if (stdinLines.length) return stdinLines.shift();
  await Promise.race([new Promise((resolve) => (stdinWaiter = resolve)), sleep(60000)]);
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const index = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Math.round(sorted[index] * 100) / 100;
}

/** CPU this process used since ``since`` (process.cpuUsage), in % of one core. */
function cpuPercent(since, elapsedS) {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / 1e4 / elapsedS);
}

function latencySummary(values) {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
}

/** One client, connected on exactly one transport, never reconnecting. */
function connectOne(transport, stats) {
  return new Promise((resolve) => {
    const options = {
      forceNew: true,
      transports: [transport],
      upgrade: false,
      reconnection: false,
      timeout: config.connectTimeoutMs || 20000,
    };
    if (transport === "polling") options.agent = pollingAgent;
    const socket = io(config.url, options);
    const fail = (err) => {
      stats.connectErrors += 1;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(String((err && err.message) || err));
      socket.close();
      resolve(null);
    };
    socket.once("connect_error", fail);
    socket.once("connect", () => {
      socket.off("connect_error", fail);
      socket.on("disconnect", (reason) => {
        if (!socket.closingOnPurpose) {
          stats.drops += 1;
          if (stats.errorSamples.length < 5) stats.errorSamples.push(`disconnect: ${reason}`);
        }
      });
      resolve(socket);
    });
  });
}

/** Connect ``count`` clients, at most ``concurrency`` handshakes in flight. */
async function connectMany(transport, count, stats) {
  const sockets = [];
  let next = 0;
  const concurrency = Math.min(config.connectConcurrency || 100, count);
  const worker = async () => {
    while (next < count) {
      next += 1;
      const socket = await connectOne(transport, stats);
      if (socket) sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sockets;
}

function closeAll(sockets) {
  for (const socket of sockets) {
    socket.closingOnPurpose = true;
    socket.close();
  }
}

function newStats() {
  return { connectErrors: 0, drops: 0, errorSamples: [] };
}

/** sendMessage -> helloBack, each client with one request in flight, for ``durationS``. */
async function roundtrip() {
  const stats = newStats();
  const sockets = await connectMany(config.transport, config.clients, stats);
  const timeoutMs = config.timeoutMs || 10000;
  const warmupMs = (config.warmupS || 1) * 1000;
  const rtts = [];
  let completed = 0;
  let timeouts = 0;
  let measuring = false;
  let running = true;

  const loop = (socket) =>
    new Promise((resolve) => {
      let sentAt = 0;
      let timer = null;
      let gaveUp = false;
      const send = () => {
        if (gaveUp || !running || !socket.connected) return resolve();
        sentAt = now();
        timer = setTimeout(() => {
          timeouts += 1; // no helloBack within timeoutMs: give up on this client
          gaveUp = true;
          resolve();
        }, timeoutMs);
        socket.emit("sendMessage", { message: "hi" });
      };
      socket.on("helloBack", () => {
        if (gaveUp) return;
        clearTimeout(timer);
        if (measuring) {
          completed += 1;
          rtts.push(now() - sentAt);
        }
        send();
      });
      socket.on("disconnect", () => {
        clearTimeout(timer);
        resolve();
      });
      send();
    });

  const loops = Promise.all(sockets.map(loop));
  await sleep(warmupMs);
  measuring = true;
  const started = now();
  const cpu = process.cpuUsage();
  await sleep(config.durationS * 1000);
  measuring = false;
  const elapsedS = (now() - started) / 1000;
  const clientCpuPct = cpuPercent(cpu, elapsedS);
  running = false;
  // Let in-flight round trips finish (each is bounded by its own timeout).
  await Promise.race([loops, sleep(timeoutMs + 1000)]);
  closeAll(sockets);
  return {
    clients: config.clients,
    connected: sockets.length,
    roundTripsPerS: Math.round(completed / elapsedS),
    clientCpuPct,
    rttMs: latencySummary(rtts),
    timeouts,
    errors: stats.connectErrors + stats.drops,
    errorSamples: stats.errorSamples,
  };
}

/** ``receivers`` clients in one room; messages sent in turn by each, delivered to all. */
async function fanout() {
  const stats = newStats();
  const sockets = await connectMany(config.transport, config.receivers, stats);
  const room = config.room || `bench-${process.pid}`;
  let joinErrors = 0;
  await Promise.all(
    sockets.map((socket, i) =>
      socket
        .timeout(10000)
        .emitWithAck("join", { room, name: `bench${i}` })
        .then((ack) => {
          if (!ack || ack.ok !== true) joinErrors += 1;
        })
        .catch(() => (joinErrors += 1)),
    ),
  );
  const sentAt = new Map(); // client_id -> send time
  const pending = new Map(); // client_id -> deliveries still expected
  const latencies = [];
  let deliveries = 0;
  let ackErrors = 0;
  const ackErrorSamples = [];
  let measuring = false;
  let onComplete = null;
  for (const socket of sockets) {
    socket.on("message", (msg) => {
      const t0 = sentAt.get(msg && msg.client_id);
      if (t0 === undefined) return;
      if (measuring) {
        deliveries += 1;
        latencies.push(now() - t0);
      }
      const left = pending.get(msg.client_id) - 1;
      pending.set(msg.client_id, left);
      if (left === 0 && onComplete) onComplete(msg.client_id);
    });
  }
  // A window of messages in flight; a message is done once every receiver has it.
  const window = config.window || 4;
  const timeoutMs = config.timeoutMs || 10000;
  let sequence = 0;
  let timeouts = 0;
  let running = true;
  const inFlight = new Map(); // client_id -> timer
  let finished = null;
  const allDone = new Promise((resolve) => (finished = resolve));
  const sendNext = () => {
    if (!running) {
      if (inFlight.size === 0) finished();
      return;
    }
    const sender = sockets[sequence % sockets.length];
    const clientId = `${process.pid}-${sequence++}`;
    sentAt.set(clientId, now());
    pending.set(clientId, sockets.length);
    inFlight.set(
      clientId,
      setTimeout(() => {
        timeouts += 1;
        inFlight.delete(clientId);
        sendNext();
      }, timeoutMs),
    );
    sender
      .timeout(timeoutMs)
      .emitWithAck("message", { room, text: "fan-out", client_id: clientId })
      .then((ack) => {
        if (!ack || ack.ok !== true) {
          ackErrors += 1;
          if (ackErrorSamples.length < 5) ackErrorSamples.push(JSON.stringify(ack));
        }
      })
      .catch(() => (ackErrors += 1));
  };
  onComplete = (clientId) => {
    clearTimeout(inFlight.get(clientId));
    inFlight.delete(clientId);
    sentAt.delete(clientId);
    pending.delete(clientId);
    sendNext();
  };
  if (sockets.length) for (let i = 0; i < window; i++) sendNext();
  await sleep((config.warmupS || 1) * 1000);
  measuring = true;
  const started = now();
  const cpu = process.cpuUsage();
  await sleep(config.durationS * 1000);
  measuring = false;
  const elapsedS = (now() - started) / 1000;
  const clientCpuPct = cpuPercent(cpu, elapsedS);
  running = false;
  if (inFlight.size === 0) finished();
  await Promise.race([allDone, sleep(timeoutMs + 1000)]);
  closeAll(sockets);
  return {
    receivers: config.receivers,
    connected: sockets.length,
    deliveriesPerS: Math.round(deliveries / elapsedS),
    clientCpuPct,
    latencyMs: latencySummary(latencies),
    timeouts,
    errors: stats.connectErrors + stats.drops + joinErrors + ackErrors,
    errorSamples: [...stats.errorSamples, ...ackErrorSamples],
  };
}

/** Hold ``websockets`` + ``polling`` idle clients for ``holdS``; the runner reads RSS at each phase. */
async function idle() {
  const stats = newStats();
  await phase("ready");
  const t0 = now();
  const ws = await connectMany("websocket", config.websockets, stats);
  await phase("websockets_connected", { connected: ws.length, seconds: (now() - t0) / 1000 });
  const t1 = now();
  const polling = await connectMany("polling", config.polling, stats);
  await phase("polling_connected", { connected: polling.length, seconds: (now() - t1) / 1000 });
  await sleep(config.holdS * 1000);
  const stillConnected = [...ws, ...polling].filter((s) => s.connected).length;
  await phase("held", { stillConnected });
  closeAll([...ws, ...polling]);
  return {
    websockets: ws.length,
    polling: polling.length,
    holdS: config.holdS,
    stillConnected,
    drops: stats.drops,
    errors: stats.connectErrors + stats.drops,
    errorSamples: stats.errorSamples,
  };
}

const scenarios = { roundtrip, fanout, idle };

(async () => {
  const hardStop = setTimeout(() => {
    emitLine({ result: { error: "load generator ran past its time bound" } });
    process.exit(2);
  }, (config.maxSeconds || 300) * 1000);
  const result = await scenarios[config.scenario]();
  clearTimeout(hardStop);
  emitLine({ result });
  process.exit(0);
})().catch((err) => {
  emitLine({ result: { error: String((err && err.stack) || err) } });
  process.exit(1);
});
