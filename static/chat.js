/*
 * The rolegate chat page. Plain ES5 and DOM APIs that IE9 has (XMLHttpRequest-era
 * browsers): no arrow functions, let/const, template strings, classes, fetch or Promise.
 * tests/node/es5check.js parses every script the page loads to keep it that way.
 *
 * The client options are the gateway profile's own (rendered into #policy by the
 * server from transports/options.py client_options), so the page never tries a
 * transport the server refuses. What it adds is the choice socket.io-client 4.8
 * cannot make by itself:
 *   - a browser without window.WebSocket never connects with a WebSocket-first list,
 *     even with tryAllTransports (socketio/engine.io-client#714): drop it up front;
 *   - a WebSocket that hangs (a proxy that swallows the Upgrade) is never given up
 *     before the 20 s connect timeout: give up after WEBSOCKET_GIVE_UP_MS;
 *   - a WebSocket that failed is remembered for the browser session (with an expiry,
 *     and only where a WebSocket never worked in that session), so a reload goes
 *     straight to polling. A hang counts as a failure only if polling then opens within
 *     WEBSOCKET_GIVE_UP_MS: a server slow to answer anything is not the path's fault.
 *
 * And it says why, in words: the transport and the reason for it, a refusal's code and
 * message (the gate's JSON body, or a connect handler's data), the reconnect attempt and
 * when the next one starts, and by each message what keeps it from being stored.
 */
(function () {
    "use strict";

    var WEBSOCKET_GIVE_UP_MS = 1500;
    var WEBSOCKET_FAILURE_MEMORY_MS = 30 * 60 * 1000;
    var WEBSOCKET_FAILED_KEY = "rolegate.websocketFailedUntil";
    var WEBSOCKET_WORKED_KEY = "rolegate.websocketWorked";
    var WEBSOCKET_FAILURE_KEY = "rolegate.websocketFailure"; // {at, why} of the failure remembered
    var RATE_LIMIT_RETRY_MS = 1000;
    var UNAVAILABLE_RETRY_MS = 2000; // doubled on each `unavailable`, up to the maximum
    var UNAVAILABLE_RETRY_MAX_MS = 30000;

    function byId(id) {
        return document.getElementById(id);
    }

    var view = {
        status: byId("status"),
        over: byId("over"),
        transport: byId("transport"),
        transportWhy: byId("transport-why"),
        refusal: byId("refusal"),
        retry: byId("retry"),
        roundTrip: byId("round-trip"),
        hello: byId("hello"),
        reply: byId("reply"),
        rtt: byId("rtt"),
        joinForm: byId("join-form"),
        name: byId("name"),
        room: byId("room"),
        members: byId("members"),
        messages: byId("messages"),
        sendForm: byId("send-form"),
        text: byId("text"),
        notice: byId("notice")
    };

    function now() {
        return new Date().getTime();
    }

    function trim(text) {
        return String(text).replace(/^\s+|\s+$/g, "");
    }

    function setText(element, text) {
        if (element.textContent !== text) {
            element.textContent = text; // the same text again would be announced again in a live region
        }
    }

    function show(element, shown) {
        if (shown) {
            element.removeAttribute("hidden");
        } else {
            element.setAttribute("hidden", "hidden");
        }
    }

    function notify(text) {
        setText(view.notice, text);
    }

    function without(list, item) {
        var result = [];
        for (var i = 0; i < list.length; i++) {
            if (list[i] !== item) {
                result.push(list[i]);
            }
        }
        return result;
    }

    function copyOf(object) {
        var result = {};
        for (var key in object) {
            if (Object.prototype.hasOwnProperty.call(object, key)) {
                result[key] = object[key];
            }
        }
        return result;
    }

    // --- Remembering a failed WebSocket for the browser session -----------------------

    function stored(key) {
        try {
            return window.sessionStorage ? window.sessionStorage.getItem(key) : null;
        } catch (e) {
            return null; // storage disabled (private mode, policy): just do not remember
        }
    }

    function store(key, value) {
        try {
            if (!window.sessionStorage) {
                return;
            }
            if (value === null) {
                window.sessionStorage.removeItem(key);
            } else {
                window.sessionStorage.setItem(key, value);
            }
        } catch (e) {
            // storage full or disabled: remembering is an optimisation only
        }
    }

    function websocketRememberedAsFailed() {
        if (stored(WEBSOCKET_WORKED_KEY)) {
            return false;
        }
        var until = parseInt(stored(WEBSOCKET_FAILED_KEY), 10);
        return !isNaN(until) && until > now();
    }

    function rememberWebsocketFailed(why) {
        if (!stored(WEBSOCKET_WORKED_KEY)) {
            store(WEBSOCKET_FAILED_KEY, String(now() + WEBSOCKET_FAILURE_MEMORY_MS));
            store(WEBSOCKET_FAILURE_KEY, JSON.stringify({ at: now(), why: why }));
        }
    }

    function rememberWebsocketWorked() {
        store(WEBSOCKET_WORKED_KEY, "1");
        store(WEBSOCKET_FAILED_KEY, null);
        store(WEBSOCKET_FAILURE_KEY, null);
    }

    function minutesAgo(at) {
        var minutes = Math.floor((now() - at) / 60000);
        return minutes < 1 ? "less than a minute ago" : minutes + " min ago";
    }

    /** "remembered from a failed WebSocket 3 min ago (a proxy on the way refused WebSocket)" */
    function rememberedFailure() {
        var failure = null;
        try {
            failure = JSON.parse(stored(WEBSOCKET_FAILURE_KEY) || "null");
        } catch (e) {
            failure = null;
        }
        if (!failure || typeof failure.at !== "number") {
            return "remembered from a failed WebSocket earlier in this browser session";
        }
        return "remembered from a failed WebSocket " + minutesAgo(failure.at) +
            (failure.why ? " (" + failure.why + ")" : "");
    }

    // --- Choosing the transports -------------------------------------------------------

    function readPolicy() {
        var node = byId("policy");
        return JSON.parse(node.text || node.textContent);
    }

    /** The profile's transports, minus a WebSocket this browser cannot or should not use. */
    function chooseTransports(allowed) {
        if (allowed.length < 2 || allowed.indexOf("websocket") === -1) {
            return { transports: allowed, why: "" };
        }
        if (!window.WebSocket && !window.MozWebSocket) {
            return { transports: without(allowed, "websocket"), why: "this browser has no WebSocket" };
        }
        if (websocketRememberedAsFailed()) {
            return { transports: without(allowed, "websocket"), why: rememberedFailure() };
        }
        return { transports: allowed, why: "" };
    }

    var policy = readPolicy();
    var choice = chooseTransports(policy.transports);
    if (choice.transports[0] === "websocket" && !window.WebSocket && !window.MozWebSocket) {
        notify("This browser has no WebSocket, and the gateway's profile (" + policy.profile +
            ") allows nothing else.");
        setStatus("disconnected");
        return;
    }

    /** Why the page is on the transport it is on; "" where nothing needs saying (WebSocket). */
    var transportWhy = choice.why;
    if (!transportWhy && policy.transports.indexOf("websocket") === -1) {
        transportWhy = "the profile allows no WebSocket";
    } else if (!transportWhy && policy.transports[0] !== "websocket") {
        transportWhy = policy.upgrade ? "upgrading to WebSocket" : "the profile offers no upgrade to WebSocket";
    }

    var options = copyOf(policy);
    options.transports = choice.transports;
    if (!window.rolegateAuth.prepare(policy, options, notify)) { // static/auth.js: the token, if any
        setStatus("disconnected");
        return;
    }
    var socket = window.io(options);
    window.rolegateAuth.watch(socket);
    var manager = socket.io;

    function websocketFirst() {
        var list = manager.opts.transports;
        return list.length > 1 && list[0] === "websocket";
    }

    function dropWebsocket() {
        manager.opts.transports = without(manager.opts.transports, "websocket");
    }

    var giveUpTimer = null;
    var gaveUpAt = 0; // when a hanging WebSocket was given up, until the fallback opens

    function armWebsocketGiveUp() {
        clearTimeout(giveUpTimer);
        if (!websocketFirst()) {
            return;
        }
        giveUpTimer = setTimeout(function () {
            // Still no open and no error from this attempt, and still on the WebSocket:
            // it hangs, or it closed without an error (tryAllTransports only moves on after an
            // error, and the Manager would wait for its 20 s connect timeout).
            var engine = manager.engine;
            var stuck = engine && engine.readyState !== "open" && engine.transport &&
                engine.transport.name === "websocket";
            if (stuck && !socket.connected) {
                gaveUpAt = now(); // remembered as failed only if polling then answers promptly
                dropWebsocket();
                transportWhy = "WebSocket did not open within " + (WEBSOCKET_GIVE_UP_MS / 1000) + " s";
                // Restart the attempt with the new list: the Manager keeps no handle on a
                // half-open engine it could retarget.
                socket.disconnect();
                socket.connect();
            }
        }, WEBSOCKET_GIVE_UP_MS);
    }

    armWebsocketGiveUp();

    // --- Connection state, live transport, refusals and retries --------------------------

    var everConnected = false;
    var connection = 0; // counts connections, so acks from an old one are recognised
    var refused = null; // {code, message} of the last refused attempt, until one connects
    var retry = { attempt: 0, at: 0 }; // the next reconnect attempt and when it starts
    var retryTicker = null;
    var diagnosed = false; // the one diagnostic request a WebSocket-only page may make

    function setStatus(state, detail) {
        setText(view.status, state);
        view.status.className = "state " + state;
        view.status.title = detail || "";
        // "over none" says nothing: the transport line is shown only while connected.
        show(view.over, state === "connected");
    }

    function showTransport(name) {
        setText(view.transport, name || "none");
        setText(view.transportWhy, name === "polling" ? transportWhy : "");
    }

    /** The state while not connected: refused (with its code), else connecting or reconnecting. */
    function notConnectedState() {
        if (refused) {
            return "refused";
        }
        if (!socket.active) {
            return "disconnected";
        }
        return everConnected ? "reconnecting" : "connecting";
    }

    function showRefusal() {
        setText(view.refusal, refused ? refused.code + ": " + refused.message : "");
    }

    function showRetry() {
        clearInterval(retryTicker);
        retryTicker = null;
        if (socket.connected || !retry.attempt) {
            setText(view.retry, "");
            return;
        }
        var left = Math.ceil((retry.at - now()) / 1000);
        if (left > 0) {
            setText(view.retry, "attempt " + retry.attempt + " in " + left + " s (at " + clockTime(retry.at) + ")");
            retryTicker = setInterval(showRetry, 1000);
        } else {
            setText(view.retry, "attempt " + retry.attempt + ": trying now");
        }
    }

    function clockTime(ms) {
        var date = new Date(ms);
        var pad = function (n) {
            return (n < 10 ? "0" : "") + n;
        };
        return date.getHours() + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
    }

    // The Manager picks each reconnect delay (exponential, with jitter) in its Backoff and tells
    // no one: note it as it is picked, so the page can say when the next attempt starts.
    (function watchBackoff(backoff) {
        if (!backoff || typeof backoff.duration !== "function") {
            return; // another client version: the attempt number alone is shown
        }
        var duration = backoff.duration;
        backoff.duration = function () {
            var ms = duration.apply(backoff, arguments);
            retry.attempt = backoff.attempts;
            retry.at = now() + ms;
            setTimeout(showRetry, 0);
            return ms;
        };
    })(manager.backoff);

    /** JSON {code, message} from a refusal's body, or null. */
    function parseRefusal(text) {
        try {
            var body = JSON.parse(text);
            if (body && typeof body.code === "string") {
                return { code: body.code, message: String(body.message || "") };
            }
        } catch (e) {
            // not the gate's JSON: a proxy's own error page
        }
        return null;
    }

    /**
     * What a connect_error says about why, or null when nothing answered (the gateway is down).
     * A connect handler's refusal (auth) has `data`; the gate's refusal of a polling request is
     * the XHR socket.io-client hands on as `context`, still readable when the error is emitted.
     */
    function refusalOf(error) {
        if (!error) {
            return null;
        }
        if (error.type !== "TransportError") {
            if (error.message === "timeout") {
                return null;
            }
            var data = error.data && typeof error.data === "object" ? error.data : {};
            return {
                code: String(data.code || "connection_refused"),
                message: String(data.message || error.message || "")
            };
        }
        var xhr = error.context;
        var status = typeof error.description === "number" ? error.description : 0;
        if (xhr && typeof xhr.responseText === "string" && xhr.responseText) {
            var parsed = parseRefusal(xhr.responseText);
            if (parsed) {
                return parsed;
            }
        }
        if (status > 0) {
            return { code: "http_" + status, message: "HTTP " + status + " from the way to the gateway" };
        }
        return null;
    }

    /**
     * A WebSocket's failure carries no status. Where the page may not poll, one POST that the gate
     * refuses before Engine.IO sees it (polling is not in the profile) learns whether the origin or
     * the host is what it refuses. A POST, because a same-origin GET carries no Origin header.
     */
    function diagnose() {
        if (diagnosed || manager.opts.transports.indexOf("polling") !== -1) {
            return;
        }
        diagnosed = true;
        var xhr = new XMLHttpRequest();
        xhr.open("POST", policy.path + "?EIO=4&transport=polling", true);
        xhr.onreadystatechange = function () {
            if (xhr.readyState !== 4 || socket.connected) {
                return;
            }
            var found = parseRefusal(xhr.responseText);
            if (found && found.code !== "transport_not_allowed") {
                refused = found; // what a WebSocket would have been told too
                showRefusal();
                setStatus(notConnectedState());
            }
        };
        xhr.send("");
    }

    manager.on("open", function () {
        clearTimeout(giveUpTimer);
        var engine = manager.engine;
        if (engine.transport.name === "websocket") {
            rememberWebsocketWorked();
        } else if (gaveUpAt) {
            // The WebSocket hung. Blame the path only if polling then opened promptly: where the
            // whole server was slow (a host waking up), the next load should try WebSocket again.
            if (now() - gaveUpAt <= WEBSOCKET_GIVE_UP_MS) {
                rememberWebsocketFailed(transportWhy);
            }
            gaveUpAt = 0;
        } else if (websocketFirst()) {
            // tryAllTransports moved on from a WebSocket that failed: polling works, WebSocket did not,
            // so something between the browser and the gateway refused it.
            transportWhy = "a proxy on the way refused WebSocket";
            rememberWebsocketFailed(transportWhy);
            dropWebsocket();
        }
        showTransport(engine.transport.name); // before any upgrade probe starts
        engine.on("upgrade", function (transport) {
            if (transport.name === "websocket") {
                rememberWebsocketWorked();
            }
            showTransport(transport.name);
        });
        engine.on("upgradeError", function () {
            transportWhy = "the upgrade to WebSocket failed";
            showTransport(engine.transport.name);
        });
    });

    manager.on("error", function () {
        clearTimeout(giveUpTimer); // the attempt failed as a whole (gateway down): not the WebSocket's fault
    });

    manager.on("reconnect_attempt", function (attempt) {
        armWebsocketGiveUp();
        retry.attempt = attempt;
        retry.at = now();
        showRetry();
        setStatus(notConnectedState());
    });

    manager.on("reconnect_failed", function () {
        setText(view.retry, "gave up after " + retry.attempt + " attempts; reload the page to try again");
    });

    socket.on("connect", function () {
        everConnected = true;
        connection += 1;
        refused = null;
        retry.attempt = 0;
        showRefusal();
        showRetry();
        setStatus("connected");
        showTransport(manager.engine.transport.name);
        chat.onConnected();
    });

    socket.on("disconnect", function (reason) {
        showTransport("none");
        setStatus(notConnectedState(), reason);
        chat.onDisconnected();
    });

    socket.on("connect_error", function (error) {
        var found = refusalOf(error);
        if (found) {
            refused = found;
        } else if (error && error.type === "TransportError" && !error.context) {
            diagnose(); // a WebSocket's failure: no status, no body
        }
        if (!found && error && error.type === "TransportError" && typeof error.description === "number") {
            refused = null; // nothing answered this time: the gateway is down, not refusing
        }
        showRefusal();
        setStatus(notConnectedState(), error && error.message);
        showRetry();
    });

    // --- The original demo: sendMessage -> helloBack, with the round trip ----------------

    var helloSentAt = null;

    view.hello.addEventListener("click", function () {
        setText(view.reply, "");
        helloSentAt = now();
        socket.emit("sendMessage", { message: "Hello" });
    }, false);

    socket.on("helloBack", function (data) {
        setText(view.reply, data && data.message ? String(data.message) : "");
        if (helloSentAt !== null) {
            setText(view.rtt, (now() - helloSentAt) + " ms");
            show(view.roundTrip, true);
            helloSentAt = null;
        }
    });

    // --- The chat --------------------------------------------------------------------------

    /** How long to wait before the same request again: the ack's `retry_after`, else `fallback`. */
    function retryAfterMs(ack, fallback) {
        var seconds = ack && ack.error && ack.error.retry_after;
        return typeof seconds === "number" && seconds >= 0 ? Math.ceil(seconds * 1000) + 50 : fallback;
    }

    function seconds(ms) {
        return (Math.round(ms / 100) / 10) + " s";
    }

    function errorText(ack) {
        var error = ack && ack.error;
        if (!error) {
            return "The gateway gave no answer.";
        }
        return String(error.message || error.code);
    }

    function formatTime(ts) {
        if (typeof ts === "number") {
            ts = ts < 1e11 ? ts * 1000 : ts; // seconds or milliseconds since the epoch
        }
        var date = new Date(ts);
        if (isNaN(date.getTime())) {
            return "";
        }
        var minutes = date.getMinutes();
        return date.getHours() + ":" + (minutes < 10 ? "0" : "") + minutes;
    }

    function span(className, text) {
        var element = document.createElement("span");
        element.className = className;
        element.appendChild(document.createTextNode(text));
        return element;
    }

    /** Text from someone else, isolated: its direction marks cannot reorder what is around it. */
    function isolated(className, text) {
        var element = document.createElement("bdi");
        element.className = className;
        element.setAttribute("dir", "auto");
        element.appendChild(document.createTextNode(text));
        return element;
    }

    /**
     * One message: name and text isolated, the time (or what keeps it from being stored) last.
     * Screen readers hear "Alice: Hi Bob, 12:03" from the visually hidden punctuation.
     */
    function messageItem(name, text, time) {
        var element = document.createElement("li");
        element.appendChild(isolated("name", name));
        element.appendChild(span("visually-hidden", ": "));
        element.appendChild(isolated("text", text));
        element.appendChild(span("visually-hidden", ", "));
        element.appendChild(span("time", time));
        return element;
    }

    var chat = {
        name: "",
        room: "",
        joined: false,      // joined on the current connection
        members: [],        // names in the room: the join ack's list, then presence changes
        lastId: null,       // the id of the last message up to which none is missing: `since` on rejoin
        lastSeq: null,      // that message's seq (1, 2, 3... per room; a jump means one was missed)
        bySeq: {},          // seq -> id of messages seen past lastSeq
        filling: false,     // a join with `since` is fetching missed messages
        retryDelay: 0,      // ms before resending after `unavailable`
        seen: {},           // message id -> true, so a replay shows nothing twice
        pending: {},        // client_id -> element of a message not yet stored
        outbox: [],         // messages not yet acknowledged, oldest first
        inFlight: null,     // {item, connection} while the oldest waits for its ack
        clientCounter: 0
    };

    chat.newClientId = function () {
        chat.clientCounter += 1;
        return "c" + now().toString(36) + Math.random().toString(36).slice(2, 8) + "-" + chat.clientCounter;
    };

    chat.clearRoom = function (room) {
        for (var i = 0; i < chat.outbox.length; i++) {
            chat.markFailed(chat.outbox[i], "not sent: you left " + chat.outbox[i].room);
        }
        chat.outbox = [];
        chat.inFlight = null;
        chat.room = room;
        chat.joined = false;
        chat.lastId = null;
        chat.lastSeq = null;
        chat.bySeq = {};
        chat.filling = false;
        chat.seen = {};
        chat.pending = {};
        while (view.messages.firstChild) {
            view.messages.removeChild(view.messages.firstChild);
        }
        chat.showMembers([]);
    };

    /** The member list; `stale` while disconnected (it was true when the connection dropped). */
    chat.showMembers = function (members, stale) {
        chat.members = members ? members.slice(0) : [];
        chat.members.sort();
        chat.membersStale = !!stale;
        view.members.className = stale ? "members stale" : "members";
        view.members.textContent = "";
        if (!chat.members.length) {
            return;
        }
        view.members.appendChild(document.createTextNode(stale ? "In the room when the connection dropped: " :
            "In the room: "));
        for (var i = 0; i < chat.members.length; i++) {
            if (i > 0) {
                view.members.appendChild(document.createTextNode(", "));
            }
            view.members.appendChild(isolated("member", String(chat.members[i])));
        }
    };

    /** A presence change: {room, joined: name} or {room, left: name}. */
    chat.presence = function (change) {
        if (!chat.joined) {
            return; // a change before the join's ack: the ack's list includes it
        }
        var members = chat.members;
        if (typeof change.joined === "string" && members.indexOf(change.joined) === -1) {
            members = members.concat([change.joined]);
        } else if (typeof change.left === "string") {
            members = without(members, change.left);
        } else {
            return;
        }
        chat.showMembers(members);
    };

    /** Put a stored message in its place by id; pending ones stay last. */
    chat.place = function (message) {
        if (chat.seen[message.id]) {
            return;
        }
        chat.seen[message.id] = true;
        var element = chat.pending[message.client_id];
        if (element) {
            delete chat.pending[message.client_id];
            element.parentNode.removeChild(element);
            element.className = "mine";
        } else {
            element = messageItem(String(message.name), String(message.text), "");
        }
        element.setAttribute("data-id", String(message.id));
        setText(element.lastChild, formatTime(message.ts));
        var before = null;
        var children = view.messages.childNodes;
        for (var i = 0; i < children.length; i++) {
            if (children[i].nodeType !== 1) {
                continue; // not an element
            }
            var id = children[i].getAttribute("data-id");
            if (id === null || Number(id) > message.id) {
                before = children[i];
                break;
            }
        }
        view.messages.insertBefore(element, before);
        view.messages.scrollTop = view.messages.scrollHeight;
    };

    /**
     * Note a message's seq. Live messages must come 1, 2, 3...: a jump means a broadcast was lost
     * (the gateway's Redis restarted, say), so join again with `since` to fetch it. A replay may
     * start past lastSeq: those messages were pruned by the gateway's history limits.
     */
    chat.track = function (message, replayed) {
        if (typeof message.seq !== "number") {
            if (chat.lastId === null || message.id > chat.lastId) {
                chat.lastId = message.id; // a gateway without seq
            }
            return;
        }
        if (chat.lastSeq !== null && message.seq <= chat.lastSeq) {
            return;
        }
        chat.bySeq[message.seq] = message.id;
        if (chat.lastSeq === null || (replayed && message.seq > chat.lastSeq + 1)) {
            chat.lastSeq = message.seq - 1;
        }
        chat.advance();
        if (!replayed && message.seq > chat.lastSeq + 1) {
            chat.fillGap();
        }
    };

    chat.advance = function () {
        while (Object.prototype.hasOwnProperty.call(chat.bySeq, chat.lastSeq + 1)) {
            chat.lastSeq += 1;
            chat.lastId = chat.bySeq[chat.lastSeq];
            delete chat.bySeq[chat.lastSeq];
        }
    };

    /** After a complete replay, what is still missing is gone from the history: stop waiting for it. */
    chat.skipLost = function () {
        var next = null;
        for (var key in chat.bySeq) {
            if (Object.prototype.hasOwnProperty.call(chat.bySeq, key) && (next === null || Number(key) < next)) {
                next = Number(key);
            }
        }
        if (next !== null) {
            chat.lastSeq = next - 1;
            chat.advance();
        }
    };

    chat.fillGap = function () {
        if (chat.filling || !chat.joined) {
            return;
        }
        chat.filling = true;
        chat.join();
    };

    chat.showPending = function (item) {
        var element = messageItem(chat.name, item.text, "sending");
        element.className = "mine pending";
        element.setAttribute("data-client-id", item.client_id);
        view.messages.appendChild(element);
        view.messages.scrollTop = view.messages.scrollHeight;
        chat.pending[item.client_id] = element;
    };

    /** Not stored yet (the gateway's history is unavailable): say so by the message, keep it to resend. */
    chat.markRetrying = function (item, why) {
        var element = chat.pending[item.client_id];
        if (element) {
            element.className = "mine pending unavailable";
            setText(element.lastChild, "not stored yet, retrying: " + why);
        }
    };

    /** Waiting for the gateway's rate limit: say so by the message, with when it goes again. */
    chat.markWaiting = function (item, ms) {
        var element = chat.pending[item.client_id];
        if (element) {
            element.className = "mine pending rate-limited";
            setText(element.lastChild, "rate limited: sending again in " + seconds(ms));
        }
    };

    chat.markSending = function (item) {
        var element = chat.pending[item.client_id];
        if (element) {
            element.className = "mine pending";
            setText(element.lastChild, "sending");
        }
    };

    chat.markFailed = function (item, why) {
        var element = chat.pending[item.client_id];
        if (element) {
            delete chat.pending[item.client_id];
            element.className = "mine failed";
            setText(element.lastChild, why);
        }
    };

    chat.join = function () {
        if (!chat.room || !socket.connected) {
            return; // joins (again) on connect
        }
        var payload = { room: chat.room, name: chat.name };
        if (chat.lastId !== null) {
            payload.since = chat.lastId;
        }
        var joinedOn = connection;
        var room = chat.room;
        socket.emit("join", payload, function (ack) {
            if (joinedOn !== connection || room !== chat.room) {
                return; // an answer for a connection or room that is gone
            }
            chat.filling = false;
            if (ack && ack.error && ack.error.code === "rate_limited") {
                var wait = retryAfterMs(ack, RATE_LIMIT_RETRY_MS);
                notify("Joining " + room + ": rate limited, trying again in " + seconds(wait) + ".");
                setTimeout(function () {
                    if (joinedOn === connection && room === chat.room && !chat.joined) {
                        chat.join();
                    }
                }, wait);
                return;
            }
            if (!ack || !ack.ok) {
                notify("Could not join " + room + ": " + errorText(ack));
                if (ack && ack.error && ack.error.code === "unavailable") {
                    setTimeout(chat.join, UNAVAILABLE_RETRY_MS);
                }
                return;
            }
            chat.joined = true;
            notify("");
            chat.showMembers(ack.members);
            var history = ack.history || [];
            for (var i = 0; i < history.length; i++) {
                chat.place(history[i]);
                chat.track(history[i], true);
            }
            if (ack.truncated && chat.lastId !== null) {
                chat.filling = true;
                chat.join(); // the replay was cut at the profile's replay_limit: fetch the rest
                return;
            }
            chat.skipLost();
            chat.flush();
        });
    };

    /** Send the oldest unacknowledged message, one at a time so the order is kept. */
    chat.flush = function () {
        if (!socket.connected || !chat.joined || !chat.outbox.length) {
            return;
        }
        if (chat.inFlight && chat.inFlight.connection === connection) {
            return;
        }
        var item = chat.outbox[0];
        var sentOn = connection;
        chat.inFlight = { item: item, connection: sentOn };
        socket.emit("message", { room: item.room, text: item.text, client_id: item.client_id }, function (ack) {
            if (!chat.inFlight || chat.inFlight.item !== item || sentOn !== connection) {
                return; // resent on a later connection: that ack counts
            }
            chat.inFlight = null;
            var code = ack && ack.error && ack.error.code;
            if (ack && ack.ok) {
                chat.outbox.shift();
                chat.retryDelay = 0;
                var mine = { id: ack.id, seq: ack.seq, ts: ack.ts, client_id: item.client_id, name: chat.name,
                    text: item.text };
                chat.place(mine);
                chat.track(mine, false);
            } else if (code === "unavailable") {
                // Nothing was stored: keep it first in the outbox and send it again, same client_id.
                chat.retryDelay = Math.min(chat.retryDelay ? chat.retryDelay * 2 : UNAVAILABLE_RETRY_MS,
                    UNAVAILABLE_RETRY_MAX_MS);
                chat.markRetrying(item, errorText(ack));
                setTimeout(chat.flush, chat.retryDelay);
                return;
            } else if (code === "rate_limited") {
                // Nothing was stored: it goes again, same client_id, once the gateway's bucket allows.
                var wait = retryAfterMs(ack, RATE_LIMIT_RETRY_MS);
                chat.markWaiting(item, wait);
                setTimeout(function () {
                    chat.markSending(item);
                    chat.flush();
                }, wait);
                return;
            } else if (code === "not_in_room") {
                chat.joined = false;
                chat.join();
                return;
            } else if (code === "client_id_taken") {
                // Someone else sent this client_id first: the message is still unsent, so it
                // goes again under a new id (its pending line follows the id).
                var element = chat.pending[item.client_id];
                delete chat.pending[item.client_id];
                item.client_id = chat.newClientId();
                if (element) {
                    element.setAttribute("data-client-id", item.client_id);
                    chat.pending[item.client_id] = element;
                }
            } else {
                chat.outbox.shift();
                chat.markFailed(item, errorText(ack));
                notify("Message not sent: " + errorText(ack));
            }
            chat.flush();
        });
    };

    chat.onConnected = function () {
        chat.joined = false;
        chat.filling = false;
        chat.inFlight = null;
        chat.join();
    };

    chat.onDisconnected = function () {
        chat.joined = false;
        chat.showMembers(chat.members, true); // presence changes are missed until the rejoin's ack
    };

    socket.on("message", function (message) {
        if (message && message.room === chat.room) {
            chat.place(message);
            chat.track(message, false);
        }
    });

    socket.on("presence", function (change) {
        if (change && change.room === chat.room) {
            chat.presence(change);
        }
    });

    view.joinForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = trim(view.name.value);
        var room = trim(view.room.value);
        if (!name || !room) {
            notify("Type a name and a room first.");
            return;
        }
        if (room !== chat.room) {
            if (chat.room && socket.connected) {
                socket.emit("leave", { room: chat.room });
            }
            chat.clearRoom(room);
        }
        chat.name = name;
        chat.joined = false;
        chat.join();
    }, false);

    view.sendForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = view.text.value;
        if (!trim(text)) {
            return;
        }
        if (!chat.room) {
            notify("Join a room first.");
            return;
        }
        var item = { room: chat.room, text: text, client_id: chat.newClientId() };
        chat.outbox.push(item);
        chat.showPending(item);
        view.text.value = "";
        chat.flush();
    }, false);
})();
