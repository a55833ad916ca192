// Load generator: the official socket.io-client, many clients in ONE Node process.
//
// usage: node bench/load.js '<json config>'
// Prints JSON lines on stdout: {"phase": ...} lines while it runs (the idle scenario
// waits for a line on stdin after each phase, so the runner can read the server's RSS
// at that point), then one {"result": {...}} line. Every loop is bounded in count and time.
// The runner may start several of these on one scenario (bench/scenarios.py, --load-processes),
// each with its share of the clients; with "returnSamples" each also returns its raw latencies,
// which the runner merges before taking percentiles.
"use strict";
const http = require("http");
const readline = require("readline");
const { io } = require("socket.io-client");

const config = JSON.parse(process.argv[2]);
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic
// ms since the epoch, sub-ms: comparable between load processes on one machine (fan-out latency).
const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Browsers reuse polling connections (keep-alive); xmlhttprequest-ssl opens one per request otherwise.
const pollingAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function emitLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** The last line, then exit once it is written: stdout to a pipe is asynchronous, and exiting
 * at once would cut a long line (a result with its samples) at 64 KiB. */
function emitLast(obj, code) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(code));
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
  const summary = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
  // Raw values (0.01 ms) for the runner to merge with other load processes' before percentiles.
  if (config.returnSamples) summary.values = Array.from(sorted, (v) => Math.round(v * 100) / 100);
  return summary;
}

/** One client, connected on exactly one transport; reconnecting (library defaults) only if asked. */
function connectOne(transport, stats, reconnection = false) {
  return new Promise((resolve) => {
    const options = {
      forceNew: true,
      transports: [transport],
      upgrade: false,
      reconnection,
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
    // Only the first connect: a reconnecting client's later errors are the storm's to count.
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
async function connectMany(transport, count, stats, reconnection = false) {
  const sockets = [];
  let next = 0;
  const concurrency = Math.min(config.connectConcurrency || 100, count);
  const worker = async () => {
    while (next < count) {
      next += 1;
      const socket = await connectOne(transport, stats, reconnection);
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
  // One room for every load process of the run (the runner names it): each counts what its
  // receivers get from any sender, so the processes' deliveries add up.
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
  // client_id is "<pid>-<sequence>-<epoch ms sent>": any load process can time a delivery.
  const pending = new Map(); // this process's client_id -> its receivers still to get it
  const latencies = [];
  let deliveries = 0;
  let ackErrors = 0;
  const ackErrorSamples = [];
  let measuring = false;
  let onComplete = null;
  for (const socket of sockets) {
    socket.on("message", (msg) => {
      const clientId = msg && msg.client_id;
      if (typeof clientId !== "string") return;
      const t0 = Number(clientId.split("-")[2]);
      if (!Number.isFinite(t0)) return;
      if (measuring) {
        deliveries += 1;
        latencies.push(epochNow() - t0);
      }
      if (!pending.has(clientId)) return; // another load process's message, or one given up on
      const left = pending.get(clientId) - 1;
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
    const clientId = `${process.pid}-${sequence++}-${epochNow()}`;
    pending.set(clientId, sockets.length);
    inFlight.set(
      clientId,
      setTimeout(() => {
        timeouts += 1;
        inFlight.delete(clientId);
        pending.delete(clientId);
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

/**
 * Reconnect storm: ``clients`` WebSockets joined to ``rooms`` rooms, all dropped at once, then back
 * through socket.io-client's own reconnection (default backoff: first try after 0.5-1.5 s) and
 * rejoined. The drop closes every client's engine (its WebSocket) from this side: the Manager
 * sees a transport close and reconnects, as after a network drop, and the server sees the
 * connection end, the same for every server under test. Timed from the drop until every client
 * is connected again and its join acknowledged (or ``stormTimeoutS``).
 */
async function storm() {
  const stats = newStats();
  const rooms = config.rooms || 50;
  const prefix = config.roomPrefix || `storm-${process.pid}`;
  const timeoutMs = config.timeoutMs || 10000;
  const sockets = await connectMany("websocket", config.clients, stats, true);
  const sample = (text) => {
    if (stats.errorSamples.length < 5) stats.errorSamples.push(text);
  };
  const join = (socket, i, when) =>
    socket
      .timeout(timeoutMs)
      .emitWithAck("join", { room: `${prefix}-${i % rooms}`, name: `storm${i}` })
      .then((ack) => {
        if (ack && ack.ok === true) return true;
        sample(`${when} join: ${JSON.stringify(ack)}`);
        return false;
      })
      .catch((err) => {
        sample(`${when} join: ${(err && err.message) || err}`);
        return false;
      });
  // Joins before the drop, in full: a refused first join is an error of its own, not the storm's.
  const firstJoinErrors = (await Promise.all(sockets.map((s, i) => join(s, i, "first")))).filter(
    (ok) => !ok,
  ).length;
  let joinErrors = 0;
  await phase("joined", { connected: sockets.length });

  let dropped = false;
  let droppedAt = 0;
  let back = 0;
  let attempts = 0;
  let reconnectErrors = 0;
  const backMs = [];
  let allBack = null;
  const everyoneBack = new Promise((resolve) => (allBack = resolve));
  const failed = (what) => (err) => {
    reconnectErrors += 1;
    sample(`${what}: ${(err && err.message) || err}`);
  };
  sockets.forEach((socket, i) => {
    socket.io.on("reconnect_attempt", () => (attempts += 1));
    socket.io.on("reconnect_error", failed("reconnect_error")); // refused or failed handshake
    socket.on("connect_error", failed("connect_error")); // refused by the namespace (middleware)
    socket.on("connect", () => {
      if (!dropped || socket.rejoined) return;
      socket.closingOnPurpose = false; // from here on, a disconnect is a drop again
      join(socket, i, "re").then((ok) => {
        if (!ok) {
          joinErrors += 1;
          return;
        }
        socket.rejoined = true;
        back += 1;
        backMs.push(now() - droppedAt);
        if (back === sockets.length) allBack();
      });
    });
  });
  if (!sockets.length) allBack();

  const cpu = process.cpuUsage();
  droppedAt = now();
  dropped = true;
  for (const socket of sockets) {
    socket.closingOnPurpose = true; // this disconnect is the storm, not an error
    socket.io.engine.close();
  }
  await Promise.race([everyoneBack, sleep((config.stormTimeoutS || 60) * 1000)]);
  const elapsedS = (now() - droppedAt) / 1000;
  const clientCpuPct = cpuPercent(cpu, elapsedS);
  await phase("back", { back, seconds: elapsedS });
  closeAll(sockets);
  const leftBehind = sockets.length - back;
  if (leftBehind) sample(`${leftBehind} left behind`);
  return {
    clients: config.clients,
    connected: sockets.length,
    rejoined: back,
    leftBehind,
    seconds: Math.round(elapsedS * 1000) / 1000,
    connectsPerS: Math.round(back / elapsedS),
    reconnectAttempts: attempts,
    reconnectErrors,
    firstJoinErrors,
    rejoinErrors: joinErrors,
    clientCpuPct,
    backMs: latencySummary(backMs),
    // A client whose rejoin failed is also left behind: counted once, as left behind.
    errors: stats.connectErrors + stats.drops + firstJoinErrors + reconnectErrors + leftBehind,
    errorSamples: stats.errorSamples,
  };
}

const scenarios = { roundtrip, fanout, idle, storm };

(async () => {
  const hardStop = setTimeout(() => {
    emitLast({ result: { error: "load generator ran past its time bound" } }, 2);
  }, (config.maxSeconds || 300) * 1000);
  const result = await scenarios[config.scenario]();
  clearTimeout(hardStop);
  emitLast({ result }, 0);
})().catch((err) => {
  emitLast({ result: { error: String((err && err.stack) || err) } }, 1);
});
