// Parses scripts as ECMAScript 5 with acorn, as an old browser (IE9+) would have to.
// usage: node es5check.js [--ours FILE]... [FILE]...
// Files after --ours are the project's own: besides the syntax, they must not use
// APIs that IE9 lacks (fetch, Promise, classList, ...). Prints one JSON line:
// [{file, ok, problems: [...]}] and exits 1 when any file fails.
"use strict";
var fs = require("fs");
var acorn = require("acorn");

// Globals and members that IE9 does not have (or that need a polyfill there).
var MISSING_GLOBALS = [
  "fetch", "Promise", "Symbol", "Map", "Set", "WeakMap", "WeakSet", "Proxy", "Reflect",
  "FormData", "URLSearchParams", "requestAnimationFrame", "WebAssembly", "globalThis"
];
var MISSING_MEMBERS = [
  "classList", "dataset", "append", "prepend", "remove", "replaceWith", "closest", "matches",
  "includes", "startsWith", "endsWith", "find", "findIndex", "assign", "from", "repeat",
  "padStart", "padEnd", "entries", "values"
];

function walk(node, visit) {
  if (!node || typeof node.type !== "string") return;
  visit(node);
  Object.keys(node).forEach(function (key) {
    var child = node[key];
    if (Array.isArray(child)) child.forEach(function (c) { walk(c, visit); });
    else if (child && typeof child.type === "string") walk(child, visit);
  });
}

function apiProblems(ast) {
  var problems = [];
  walk(ast, function (node) {
    if (node.type === "MemberExpression" && !node.computed && MISSING_MEMBERS.indexOf(node.property.name) !== -1) {
      problems.push("line " + node.loc.start.line + ": ." + node.property.name + " is missing in IE9");
    }
    if (node.type === "Identifier" && MISSING_GLOBALS.indexOf(node.name) !== -1) {
      problems.push("line " + node.loc.start.line + ": " + node.name + " is missing in IE9");
    }
  });
  return problems;
}

function check(file, ours) {
  var result = { file: file, ok: true, problems: [] };
  try {
    var ast = acorn.parse(fs.readFileSync(file, "utf8"), {
      ecmaVersion: 5, sourceType: "script", locations: true
    });
    if (ours) result.problems = apiProblems(ast);
  } catch (err) {
    result.problems.push("not ES5: " + err.message);
  }
  result.ok = result.problems.length === 0;
  return result;
}

var results = [];
var args = process.argv.slice(2);
for (var i = 0; i < args.length; i++) {
  if (args[i] === "--ours") results.push(check(args[++i], true));
  else results.push(check(args[i], false));
}
console.log(JSON.stringify(results));
process.exit(results.every(function (r) { return r.ok; }) ? 0 : 1);
