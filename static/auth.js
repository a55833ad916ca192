/*
 * Signing in, for the chat page (static/chat.js). Plain ES5, like chat.js.
 *
 * With the profile's `auth` = "jwt" the Socket.IO connect must carry `auth: {token}`. The page
 * gets its token from, in order:
 *   - the address: /#token=... (development and tests); it is removed from the address bar at once;
 *   - the profile's `authTokenUrl` (same site): GET with the site's cookies, answering {"token": "..."}.
 * When the token expires (the gateway sends an `error` event `token_expired` and disconnects), the
 * page asks `authTokenUrl` again and reconnects. Without a way to get a token, or when the gateway
 * refuses one, it says what is missing and stops: a refused connect is not retried forever.
 *
 * chat.js calls rolegateAuth.prepare(policy, options, say) before io(), and
 * rolegateAuth.watch(socket) after.
 */
(function () {
    "use strict";

    var token = null;
    var policy = null;
    var say = function () {};
    var fetchProblem = "";

    function byId(id) {
        return document.getElementById(id);
    }

    function takeTokenFromAddress() {
        var hash = window.location.hash || "";
        var match = /[#&]token=([^&]*)/.exec(hash);
        if (!match) {
            return null;
        }
        var rest = hash.replace(/^#/, "").replace(/(^|&)token=[^&]*/, "").replace(/^&/, "");
        var clean = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
        if (window.history && window.history.replaceState) {
            window.history.replaceState(null, "", clean); // gone from the address bar and from history
        } else {
            window.location.hash = rest;
        }
        try {
            return decodeURIComponent(match[1]) || null;
        } catch (e) {
            return null;
        }
    }

    /** The token's claims, only to show who is signed in (the gateway is what verifies them). */
    function claimsOf(jwt) {
        try {
            var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
            while (part.length % 4) {
                part += "=";
            }
            return JSON.parse(decodeURIComponent(escape(window.atob(part))));
        } catch (e) {
            return null; // no atob (IE9), or not a JWT: the gateway will say so
        }
    }

    function showSignedIn(jwt) {
        var claims = claimsOf(jwt);
        var name = claims && (claims.name || claims.sub);
        var identity = byId("identity");
        if (identity) {
            identity.textContent = name ? "Signed in as " + name + "." : "Signed in.";
        }
        var field = byId("name");
        if (field && name) {
            field.value = String(name); // the gateway uses the token's name whatever is typed
            field.title = "Your name comes from your sign-in.";
        }
    }

    function fetchToken(url, done) {
        var xhr = new XMLHttpRequest();
        xhr.open("GET", url, true);
        xhr.withCredentials = true;
        xhr.setRequestHeader("Accept", "application/json");
        xhr.onreadystatechange = function () {
            if (xhr.readyState !== 4) {
                return;
            }
            var got = null;
            if (xhr.status === 200) {
                try {
                    got = JSON.parse(xhr.responseText).token;
                } catch (e) {
                    got = null;
                }
            }
            if (typeof got === "string" && got) {
                done(null, got);
            } else {
                done("the sign-in address " + url + " answered " + (xhr.status || "nothing") +
                    " without a token; sign in to the site first");
            }
        };
        xhr.send(null);
    }

    /** socket.io-client calls this before every connect attempt for the `auth` it sends. */
    function provideAuth(send) {
        if (token) {
            send({ token: token });
            return;
        }
        if (!policy.authTokenUrl) {
            send({}); // the gateway refuses it; watch() says why
            return;
        }
        fetchToken(policy.authTokenUrl, function (problem, fresh) {
            fetchProblem = problem || "";
            if (fresh) {
                token = fresh;
                showSignedIn(fresh);
                send({ token: fresh });
            } else {
                send({});
            }
        });
    }

    window.rolegateAuth = {
        /** Put `auth` into the io() options; false (having said why) when the page cannot sign in. */
        prepare: function (profilePolicy, options, tell) {
            policy = profilePolicy;
            say = tell;
            delete options.auth; // in the policy it names the scheme; for io() it is what is sent
            delete options.authTokenUrl;
            if (policy.auth !== "jwt") {
                return true;
            }
            token = takeTokenFromAddress();
            if (token) {
                showSignedIn(token);
            } else if (!policy.authTokenUrl) {
                say("This gateway needs a sign-in token and the page has none: open it as /#token=... " +
                    "(from `rolegate token`), or set GATEWAY_AUTH_TOKEN_URL to where the site hands them out.");
                return false;
            }
            options.auth = provideAuth;
            return true;
        },

        /** React to what the gateway says about the token: expired (get another) or refused (stop). */
        watch: function (socket) {
            var expired = false;
            var retriedExpired = false;
            if (policy.auth !== "jwt") {
                return;
            }
            socket.on("connect", function () {
                retriedExpired = false;
            });
            socket.on("error", function (error) {
                var code = error && error.code;
                if (code === "token_expired") {
                    expired = true;
                    token = null;
                } else if (code === "disconnected_by_server") {
                    say("The server closed this connection. Reload the page to connect again.");
                }
            });
            socket.on("disconnect", function (reason) {
                if (reason !== "io server disconnect" || !expired) {
                    return;
                }
                expired = false;
                if (policy.authTokenUrl) {
                    say("Your sign-in expired; getting a new one.");
                    socket.connect(); // provideAuth fetches a new token first
                } else {
                    say("Your sign-in expired: open the page again with a new #token=...");
                }
            });
            socket.on("connect_error", function (error) {
                var data = error && error.data;
                if (!data || !data.code) {
                    return; // the network, not the token: socket.io-client retries by itself
                }
                token = null;
                if (data.code === "token_expired" && policy.authTokenUrl && !retriedExpired) {
                    retriedExpired = true;
                    socket.connect();
                    return;
                }
                say("Not signed in: " + (fetchProblem || data.message || data.code) + ".");
            });
        }
    };
})();
