// heed dashboard. Once a second it fetches "state" (heed.Snapshot) and
// "history" (per-second counts, oldest first) relative to this page and
// renders one card per upstream. Countdowns and ages tick locally between
// fetches, measured from when each answer arrived, so a skewed browser clock
// does not matter. Plain JavaScript, no framework, no build step.
"use strict";

const POLL_MS = 1000; // time between the end of one fetch and the next
const FETCH_TIMEOUT_MS = 4000; // a fetch taking longer counts as failed
const TICK_MS = 250; // how often countdowns and ages are redrawn
const RATE_SECONDS = 10; // complete seconds the current rate averages
const CACHE_SECONDS = 60; // seconds, the current one included, the cache figures cover
const FAIR_SECONDS = 60; // seconds, the current one included, a class's use and refusals cover

// SERIES are the history's series, in drawing order; color names a CSS
// custom property.
const SERIES = [
  { key: "requests", color: "--c-requests" },
  { key: "waits", color: "--c-waits" },
  { key: "synthetic", color: "--c-synthetic" },
  { key: "limited", color: "--c-limited" },
];

// view is the page's state between fetches.
const view = {
  cards: new Map(), // upstream name → card (see newCard)
  history: null, // the last history answer, or null
  historyOK: false, // whether the last history fetch succeeded
  lastState: 0, // performance.now() of the last state answer
};

const $ = (sel, root = document) => root.querySelector(sel);

// el makes an element with a class and text.
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- formatting ----

const nf = (digits) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits });
const fmt0 = nf(0);
const fmt1 = nf(1);
const fmt2 = nf(2);

// fmtCount formats a whole count: 12,345.
function fmtCount(n) {
  return fmt0.format(n);
}

// fmtRate formats a rate with fewer decimals the larger it is.
function fmtRate(r) {
  if (r >= 100) return fmt0.format(r);
  if (r >= 10) return fmt1.format(r);
  return fmt2.format(r);
}

// fmtShort formats an axis label: 950, 1.2k, 3M.
function fmtShort(n) {
  if (n >= 1e6) return fmt1.format(n / 1e6) + "M";
  if (n >= 1e3) return fmt1.format(n / 1e3) + "k";
  return fmt2.format(n);
}

// fmtDuration formats seconds as 42s, 4m 05s or 2h 03m.
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + "s";
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
  return Math.floor(s / 3600) + "h " + pad(Math.floor(s / 60) % 60) + "m";
}

// fmtPer formats a limit's period: "/s", "/min", "/h", "/day" or "/ 10 s".
function fmtPer(seconds) {
  const units = [[86400, "day"], [3600, "h"], [60, "min"], [1, "s"]];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? "/" + name : "/ " + n + " " + name;
    }
  }
  return "/ " + fmt2.format(seconds) + " s";
}

// fmtClock formats a time of day in the browser's zone: 14:05:09.
function fmtClock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}

// level names how full something is: ok, warn or bad.
function level(fraction) {
  if (fraction >= 0.9) return "bad";
  if (fraction >= 0.6) return "warn";
  return "ok";
}

// ---- data helpers: every field may be absent ----

const list = (v) => (Array.isArray(v) ? v : []);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// seriesOf returns the history of upstream name, or null.
function seriesOf(name) {
  const ups = view.history && view.history.upstreams;
  return (ups && ups[name]) || null;
}

// recentRate is the mean of the last RATE_SECONDS complete seconds; the
// last bucket is the current, unfinished second.
function recentRate(requests) {
  const done = list(requests).slice(0, -1).slice(-RATE_SECONDS);
  if (done.length === 0) return null;
  return done.reduce((a, b) => a + num(b), 0) / done.length;
}

// unitOf is what a limit counts: requests, tokens, input_tokens or
// output_tokens.
function unitOf(l) {
  return typeof l.unit === "string" && l.unit ? l.unit : "requests";
}

// amountOf is how many of its unit a limit lets a window see.
function amountOf(l) {
  return unitOf(l) === "requests" ? num(l.requests) : num(l.amount);
}

// limitRate is the units per second a limit allows.
function limitRate(l) {
  return num(l.per_seconds) > 0 ? amountOf(l) / l.per_seconds : 0;
}

// unitRate is the recent rate, per second, in a limit's unit: requests
// that reached the API, or the tokens their usage reported.
function unitRate(h, unit) {
  if (!h) return null;
  const sum = (a, b) => list(a).map((v, i) => num(v) + num(list(b)[i]));
  switch (unit) {
    case "requests":
      return recentRate(h.requests);
    case "input_tokens":
      return recentRate(h.input_tokens);
    case "output_tokens":
      return recentRate(h.output_tokens);
    case "tokens":
      return recentRate(sum(h.input_tokens, h.output_tokens));
  }
  return null;
}

const unitWords = { requests: "", tokens: " tokens", input_tokens: " input tokens", output_tokens: " output tokens" };

// timeline returns when the history's last bucket is (ms since the epoch, or
// NaN) and how many seconds each bucket spans.
function timeline(history) {
  if (!history) return { end: NaN, step: 1 };
  return { end: Date.parse(history.end), step: num(history.step_seconds) || 1 };
}

// tightest is the lowest rate among the limits that cover every path.
function tightest(limits) {
  const rates = list(limits).filter((l) => !l.path && unitOf(l) === "requests").map(limitRate).filter((r) => r > 0);
  return rates.length ? Math.min(...rates) : 0;
}

// ---- polling ----

function start() {
  poll().finally(schedule);
  setInterval(tick, TICK_MS);
  window.addEventListener("resize", () => view.cards.forEach(drawChart));
}

function schedule() {
  setTimeout(() => poll().finally(schedule), POLL_MS);
}

// getJSON fetches path, relative to the page, as JSON.
async function getJSON(path) {
  const res = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) {
    const err = new Error(path + ": HTTP " + res.status);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

async function poll() {
  const [state, history] = await Promise.allSettled([getJSON("state"), getJSON("history")]);
  view.historyOK = history.status === "fulfilled";
  if (view.historyOK) view.history = history.value;
  if (state.status === "fulfilled" && (typeof state.value !== "object" || state.value === null)) {
    showDisconnected(new Error("state: not a snapshot"));
    return;
  }
  if (state.status === "rejected") {
    showDisconnected(state.reason);
    return;
  }
  view.lastState = performance.now();
  showConnected(state.value);
  render(state.value, view.lastState);
}

// ---- header ----

function showConnected(state) {
  setStatus("live", "live", "");
  $("#problem").hidden = true;
  const t = Date.parse(state.time);
  $("#updated").textContent = Number.isNaN(t) ? "" : "updated " + fmtClock(t);
  $("#store").textContent = state.store ? state.store + " store" : "";
  $("#store-down").hidden = !state.store_down;
  showJobs(state.jobs);
  document.body.classList.remove("stale");
}

// showJobs shows the job queue's depth by state, when heed serve runs jobs.
function showJobs(jobs) {
  const el = $("#jobs");
  if (!jobs || typeof jobs !== "object") {
    el.hidden = true;
    return;
  }
  const order = ["queued", "waiting_quota", "running", "succeeded", "failed", "cancelled", "expired"];
  const label = { queued: "queued", waiting_quota: "waiting for quota", running: "running", succeeded: "succeeded", failed: "failed", cancelled: "cancelled", expired: "expired" };
  el.textContent = "jobs: " + order.map((k) => fmtCount(num(jobs[k])) + " " + label[k]).join(" · ");
  el.hidden = false;
}

function showDisconnected(reason) {
  const why = describeFailure(reason);
  setStatus("disconnected", "disconnected · retrying", why);
  const p = $("#problem");
  if (reason && (reason.status === 401 || reason.status === 403)) {
    p.textContent = "heed wants its admin token (" + why + "): open this page with ?token=<admin_token> added to its address.";
  } else if (view.lastState) {
    p.textContent = "Lost contact with heed (" + why + "). The figures below are from the last answer; retrying every second.";
  } else {
    p.textContent = "Cannot reach heed (" + why + "). Retrying every second.";
  }
  p.hidden = false;
  document.body.classList.add("stale");
}

// describeFailure says in a few words why fetching state failed.
function describeFailure(reason) {
  if (reason && reason.name === "TimeoutError") return "state: timed out";
  const message = String((reason && reason.message) || reason);
  return message.startsWith("state") ? message : "state: " + message;
}

function setStatus(cls, text, title) {
  const s = $("#status");
  s.className = "status " + cls;
  s.title = title;
  $("#status-text").textContent = text;
}

// ---- cards ----

function render(state, at) {
  const ups = list(state.upstreams);
  $("#empty").hidden = ups.length > 0;
  const main = $("#upstreams");
  const seen = new Set();
  ups.forEach((u, i) => {
    const card = cardFor(u.name);
    seen.add(u.name);
    if (main.children[i] !== card.root) main.insertBefore(card.root, main.children[i] || null);
    updateCard(card, u, state, at);
  });
  for (const [name, card] of view.cards) {
    if (!seen.has(name)) {
      card.root.remove();
      view.cards.delete(name);
    }
  }
  tick();
}

// cardFor returns the card of upstream name, made on first use.
function cardFor(name) {
  let card = view.cards.get(name);
  if (!card) {
    card = newCard();
    view.cards.set(name, card);
  }
  return card;
}

function newCard() {
  const root = $("#upstream-card").content.firstElementChild.cloneNode(true);
  const card = { root, tickers: [], chart: null, hover: null };
  const canvas = $(".chart", root);
  canvas.addEventListener("mousemove", (e) => hover(card, e.offsetX));
  canvas.addEventListener("mouseleave", () => hover(card, null));
  return card;
}

function updateCard(card, u, state, at) {
  const r = card.root;
  r.dataset.upstream = u.name;
  $(".up-name", r).textContent = u.name;
  $(".up-url", r).textContent = u.base_url || "";
  const breaker = u.breaker || "closed";
  const b = $(".up-breaker", r);
  b.textContent = "breaker " + breaker;
  b.className = "badge up-breaker " + ({ closed: "ok", "half-open": "warn", open: "bad" }[breaker] || "");
  r.classList.toggle("breaker-half-open", breaker === "half-open");
  r.classList.toggle("breaker-open", breaker === "open");
  card.tickers = [];
  const h = seriesOf(u.name);
  updateRate(r, u, h);
  updateLoad(r, u);
  updateFleet(r, u, state);
  updateCache(r, u, h);
  updateFair(r, u, h);
  updateScopes(card, u, state, at);
  card.chart = { h, limit: tightest(u.limits), ...timeline(view.history) };
  drawChart(card);
  updateLegend(card);
}

function updateRate(r, u, h) {
  const rate = h ? recentRate(h.requests) : null;
  $(".up-rate", r).textContent = rate === null ? "–" : fmtRate(rate);
  const box = $(".up-limits", r);
  box.replaceChildren();
  const limits = list(u.limits);
  if (limits.length === 0) box.append(el("div", "sub", "no limit configured"));
  for (const l of limits) box.append(limitLine(l, unitOf(l) === "requests" ? rate : unitRate(h, unitOf(l))));
}

// limitLine shows one limit and, for a limit on every path, how much of it
// the current rate (in the limit's unit) uses: token budgets beside
// request budgets.
function limitLine(l, rate) {
  const line = el("div", "limit");
  line.dataset.unit = unitOf(l);
  let text = "limit " + fmtCount(amountOf(l)) + unitWords[unitOf(l)] + fmtPer(num(l.per_seconds));
  if (num(l.per_seconds) !== 1) text += " ≈ " + fmtRate(limitRate(l)) + "/s";
  if (l.burst) text += ", burst " + fmtCount(l.burst);
  if (l.path) text += " on " + l.path;
  line.append(el("span", "sub", text));
  if (!l.path && rate !== null && limitRate(l) > 0) {
    const used = rate / limitRate(l);
    line.append(bar(used), el("span", "pct " + level(used), fmt0.format(used * 100) + "%"));
  }
  return line;
}

// bar is a small horizontal gauge filled to fraction (0..1).
function bar(fraction, cls) {
  const outer = el("span", "bar");
  const inner = el("span", "fill " + (cls || level(fraction)));
  inner.style.width = Math.min(100, Math.max(0, fraction * 100)).toFixed(1) + "%";
  outer.append(inner);
  return outer;
}

function updateLoad(r, u) {
  const scopes = list(u.scopes);
  const inflight = scopes.reduce((a, s) => a + num(s.in_flight), 0);
  const waiting = scopes.reduce((a, s) => a + num(s.waiting), 0);
  $(".up-inflight", r).textContent = fmtCount(inflight);
  $(".up-concurrency", r).textContent = u.concurrency ? "cap " + fmtCount(u.concurrency) + " per scope" : "no concurrency cap";
  const w = $(".up-waiting", r);
  w.textContent = fmtCount(waiting);
  w.classList.toggle("warn", waiting > 0);
  const cooling = scopes.filter((s) => s.cooldown && num(s.cooldown.remaining_seconds) > 0).length;
  const c = $(".up-cooldowns", r);
  c.textContent = fmtCount(cooling);
  c.classList.toggle("bad", cooling > 0);
  $(".up-cooldowns-sub", r).textContent = cooling === 1 ? "scope cooling down" : "scopes cooling down";
}

function updateFleet(r, u, state) {
  const p = $(".up-processes", r);
  const sub = $(".up-processes-sub", r);
  if (u.processes) {
    p.textContent = fmtCount(u.processes);
    sub.textContent = u.processes === 1 ? "process" : "processes";
  } else if (state.store === "shared") {
    p.textContent = "–";
    sub.textContent = "no heartbeats yet";
  } else {
    p.textContent = "1";
    sub.textContent = "this process (memory store)";
  }
}

// ---- cache ----

// recentSum is the sum of the last CACHE_SECONDS buckets, the current,
// unfinished second included: the cache's figures are shares, which a
// part-second does not skew.
function recentSum(values) {
  return list(values).slice(-CACHE_SECONDS).reduce((a, b) => a + num(b), 0);
}

// cacheKinds words what an upstream's cache does: private or shared, with
// coalescing, with free 304s.
function cacheKinds(c) {
  const kinds = [];
  if (c.enabled) kinds.push(c.shared ? "shared cache" : "private cache");
  if (c.coalesce) kinds.push("coalescing");
  if (c.enabled && c.free_304) kinds.push("304s free");
  return kinds.join(" · ");
}

const HIT_RATE_TITLE = "Hit rate: requests answered without a full response from the API (hits, revalidated by a 304, " +
  "coalesced with an identical request in flight) over every GET and HEAD the cache looked up (those and the misses), last 60 s.";
const SAVED_TITLE = "Quota saved: units of the request limits not spent, one per request answered without a charge " +
  "(hits, coalesced, and 304s the API does not charge), last 60 s, and their share of every request the cache looked up.";

// updateCache shows, for an upstream with a cache or coalescing, its hit
// rate and the quota it saved over the last minute; nothing for others.
function updateCache(r, u, h) {
  const box = $(".stat-cache", r);
  box.hidden = !u.cache;
  if (!u.cache) return;
  $(".up-cache-kind", r).textContent = "· " + cacheKinds(u.cache);
  const [hits, revalidated, misses, coalesced, saved] = ["cache_hits", "cache_revalidated", "cache_misses", "cache_coalesced", "quota_saved"]
    .map((k) => (h ? recentSum(h[k]) : 0));
  const looked = hits + revalidated + misses + coalesced;
  const share = (n) => (looked > 0 ? fmt0.format((n / looked) * 100) + "%" : "–");
  $(".up-hit-figure", r).title = HIT_RATE_TITLE;
  $(".up-saved-figure", r).title = SAVED_TITLE;
  $(".up-hit-rate", r).textContent = share(hits + revalidated + coalesced);
  $(".up-hit-sub", r).textContent = looked > 0
    ? [[hits, "hit", "hits"], [revalidated, "revalidated", "revalidated"], [coalesced, "coalesced", "coalesced"], [misses, "miss", "misses"]]
      .map(([n, one, many]) => fmtCount(n) + " " + (n === 1 ? one : many)).join(" · ")
    : "no cacheable requests";
  $(".up-saved", r).textContent = fmtCount(saved);
  $(".up-saved-sub", r).textContent = looked > 0 ? share(saved) + " of " + fmtCount(looked) + " requests spent none" : "";
}

// ---- fair shares ----

const SHARE_TITLE = "Share: the class's configured share over the sum of the upstream's shares, " +
  "its part of a contended quota while every class has requests waiting (capacity a class leaves goes to the others).";
const USE_TITLE = "Use: the class's part of the cost let go at its turn (1 a request, or its estimated tokens) " +
  "over the last 60 s, in this heed serve.";
const FAIR_WAITING_TITLE = "Waiting: the class's requests waiting their turn now, in every scope, in this heed serve.";
const FAIR_REFUSED_TITLE = "Refused: the class's requests answered with a synthetic limit answer instead of a turn " +
  "(their flow's queue full, or their turn too far off), last 60 s.";

// fairSums returns, for each of the upstream's classes, the cost admitted
// and the requests refused over the last FAIR_SECONDS, from history.
function fairSums(classes, h) {
  const fair = (h && h.fair && typeof h.fair === "object") ? h.fair : {};
  return classes.map((c) => {
    const f = fair[c.name] || {};
    return { cost: recentSum(f.admitted_cost), refused: recentSum(f.refused) };
  });
}

// percent words n of total as a whole percentage, or "–" for no total.
function percent(n, total) {
  return total > 0 ? fmt0.format((n / total) * 100) + "%" : "–";
}

// updateFair shows, for an upstream with fair shares, each class with its
// share, its use over the last minute, its requests waiting and refused,
// and the flows waiting most; nothing for others. Flow names (tenants,
// header values) are text, never markup.
function updateFair(r, u, h) {
  const box = $(".stat-fair", r);
  const f = u.fairness && typeof u.fairness === "object" ? u.fairness : null;
  box.hidden = !f;
  if (!f) return;
  $(".up-fair-by", r).textContent = "· flows by " + (typeof f.by === "string" && f.by ? f.by : "tenant");
  const classes = list(f.classes).filter((c) => c && typeof c.name === "string");
  const sums = fairSums(classes, h);
  const shares = classes.reduce((a, c) => a + num(c.share), 0);
  const used = sums.reduce((a, s) => a + s.cost, 0);
  const rows = classes.map((c, i) => fairRow(c, sums[i], shares, used));
  $(".fair-classes tbody", r).replaceChildren(...rows);
  const head = $(".fair-classes thead", r);
  [["share", SHARE_TITLE], ["use", USE_TITLE], ["waiting", FAIR_WAITING_TITLE], ["refused", FAIR_REFUSED_TITLE]]
    .forEach(([k, title]) => ($(".th-" + k, head).title = title));
  updateFlows($(".up-fair-flows", r), list(f.top_waiting));
}

// fairRow is one class's row.
function fairRow(c, sum, shares, used) {
  const tr = el("tr");
  tr.dataset.class = c.name;
  const waiting = num(c.waiting);
  const name = el("td", "mono fair-class", c.name);
  name.title = c.name;
  tr.append(
    name,
    el("td", "num fair-share", percent(num(c.share), shares)),
    el("td", "num fair-use", percent(sum.cost, used)),
    el("td", "num fair-waiting" + (waiting > 0 ? " warn" : ""), fmtCount(waiting)),
    el("td", "num fair-refused" + (sum.refused > 0 ? " bad" : ""), fmtCount(sum.refused)),
  );
  return tr;
}

// updateFlows lists the flows waiting most: name, class, count.
function updateFlows(ul, flows) {
  const items = flows.filter((w) => w && typeof w === "object").map((w) => {
    const li = el("li", "fair-flow");
    const name = typeof w.flow === "string" && w.flow !== "" ? w.flow : "(none)";
    const flow = el("span", "mono flow-name", name);
    flow.title = name;
    li.append(flow, el("span", "muted", typeof w.class === "string" ? w.class : ""), el("b", "num", fmtCount(num(w.waiting))));
    return li;
  });
  if (items.length === 0) items.push(el("li", "muted", "no flow waiting"));
  ul.replaceChildren(...items);
}

// ---- scopes ----

function updateScopes(card, u, state, at) {
  const now = Date.parse(state.time);
  const scopes = list(u.scopes).slice();
  // Cooldowns first, longest first; the rest as sent (most recent first).
  const left = (s) => (s.cooldown ? num(s.cooldown.remaining_seconds) : 0);
  scopes.sort((a, b) => left(b) - left(a));
  const rows = scopes.map((s) => scopeRow(card, s, u.concurrency, now, at));
  $(".scopes tbody", card.root).replaceChildren(...rows);
  $(".scopes table", card.root).hidden = rows.length === 0;
  $(".no-scopes", card.root).hidden = rows.length > 0;
}

// scopeRow is one scope's row; cap is the upstream's concurrency cap per
// scope, 0 for none.
function scopeRow(card, s, cap, now, at) {
  const tr = el("tr");
  tr.dataset.scope = s.scope;
  const inflight = num(s.in_flight);
  const full = cap > 0 && inflight >= cap;
  tr.append(
    el("td", "mono", s.scope),
    el("td", "num" + (full ? " warn" : ""), fmtCount(inflight) + (cap > 0 ? " / " + fmtCount(cap) : "")),
    el("td", "num", fmtCount(num(s.waiting))),
    cooldownCell(card, s.cooldown, at),
    quotaCell(card, list(s.quotas), now, at),
    agoCell(card, s.last_seen, now, at),
  );
  if (s.cooldown) tr.classList.add("cooling");
  return tr;
}

function cooldownCell(card, cd, at) {
  const td = el("td");
  if (!cd || num(cd.remaining_seconds) <= 0) {
    td.append(el("span", "muted", "–"));
    return td;
  }
  const pill = el("span", "pill bad countdown");
  card.tickers.push({ el: pill, at, base: num(cd.remaining_seconds), sign: -1, format: (s) => (s > 0 ? fmtDuration(s) : "ending") });
  const why = [cd.status, cd.source].filter(Boolean).join(" · ");
  td.append(pill, el("span", "muted why", why));
  return td;
}

function quotaCell(card, quotas, now, at) {
  const td = el("td", "quotas");
  if (quotas.length === 0) td.append(el("span", "muted", "–"));
  for (const q of quotas) td.append(quotaLine(card, q, now, at));
  return td;
}

function quotaLine(card, q, now, at) {
  const line = el("div", "quota");
  line.append(el("span", "qname", q.name || "quota"));
  const has = (v) => typeof v === "number";
  if (has(q.remaining) && has(q.limit) && q.limit > 0) {
    const left = q.remaining / q.limit;
    line.append(el("span", "num", fmtCount(q.remaining) + " / " + fmtCount(q.limit)), bar(left, level(1 - left)));
  } else if (has(q.remaining)) {
    line.append(el("span", "num", fmtCount(q.remaining) + " left"));
  } else if (has(q.limit)) {
    line.append(el("span", "num", "limit " + fmtCount(q.limit)));
  }
  const reset = Date.parse(q.reset);
  if (!Number.isNaN(reset) && !Number.isNaN(now)) {
    const span = el("span", "muted");
    card.tickers.push({ el: span, at, base: (reset - now) / 1000, sign: -1, format: (s) => (s > 0 ? "resets in " + fmtDuration(s) : "reset") });
    line.append(span);
  }
  return line;
}

function agoCell(card, lastSeen, now, at) {
  const td = el("td", "num muted");
  const t = Date.parse(lastSeen);
  if (Number.isNaN(t) || Number.isNaN(now)) {
    td.textContent = "–";
    return td;
  }
  card.tickers.push({ el: td, at, base: (now - t) / 1000, sign: 1, format: (s) => (s < 1 ? "now" : fmtDuration(s) + " ago") });
  return td;
}

// tick redraws every countdown and age from the time its answer arrived.
function tick() {
  const now = performance.now();
  for (const card of view.cards.values()) {
    for (const t of card.tickers) {
      t.el.textContent = t.format(t.base + (t.sign * (now - t.at)) / 1000);
    }
  }
}

// ---- chart ----

// color reads a CSS custom property.
function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// niceAxis returns a round top for the y axis, at least v, and its step.
function niceAxis(v) {
  const raw = Math.max(v, 1) / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw));
  return { top: Math.ceil(v / step) * step || step, step };
}

// sizeCanvas matches the canvas's pixels to its CSS size and returns its
// 2D context in CSS pixels, or null while it has no size.
function sizeCanvas(canvas) {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (w === 0 || h === 0) return null;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

function drawChart(card) {
  const c = sizeCanvas($(".chart", card.root));
  if (!c || !card.chart) return;
  const { g, w, h } = c;
  const box = { left: 44, right: w - 10, top: 10, bottom: h - 22 };
  const data = card.chart.h;
  if (!data) {
    drawNote(g, box, view.historyOK ? "no traffic yet" : "history unavailable");
    return;
  }
  const n = Math.max(2, ...SERIES.map((s) => list(data[s.key]).length));
  const peak = Math.max(0, ...SERIES.flatMap((s) => list(data[s.key]).map(num)));
  // Show the limit when it is near enough the traffic to be worth the scale.
  const limit = card.chart.limit > 0 && card.chart.limit <= Math.max(peak, 1) * 2 ? card.chart.limit : 0;
  const axis = niceAxis(Math.max(peak, limit));
  const x = (i) => box.left + ((box.right - box.left) * i) / (n - 1);
  const y = (v) => box.bottom - ((box.bottom - box.top) * v) / axis.top;
  drawGrid(g, box, axis, y);
  drawTimeAxis(g, box, n, x, card.chart.step);
  for (const s of SERIES) drawSeries(g, list(data[s.key]), n, x, y, color(s.color), s.key === "requests");
  if (limit) drawLimit(g, box, y(limit), "limit " + fmtRate(limit) + "/s");
  if (card.hover !== null) drawHover(g, box, x(card.hover));
}

function drawNote(g, box, text) {
  g.fillStyle = color("--muted");
  g.font = "13px " + color("--font");
  g.textAlign = "center";
  g.fillText(text, (box.left + box.right) / 2, (box.top + box.bottom) / 2);
}

function drawGrid(g, box, axis, y) {
  g.strokeStyle = color("--grid");
  g.fillStyle = color("--muted");
  g.font = "11px " + color("--font");
  g.textAlign = "right";
  g.textBaseline = "middle";
  g.lineWidth = 1;
  for (let v = 0; v <= axis.top + 1e-9; v += axis.step) {
    const py = Math.round(y(v)) + 0.5;
    g.beginPath();
    g.moveTo(box.left, py);
    g.lineTo(box.right, py);
    g.stroke();
    g.fillText(fmtShort(v), box.left - 6, py);
  }
}

// drawTimeAxis labels every minute back from the last bucket; step is the
// seconds per bucket.
function drawTimeAxis(g, box, n, x, step) {
  g.fillStyle = color("--muted");
  g.textAlign = "center";
  g.textBaseline = "top";
  const perMinute = Math.max(1, Math.round(60 / step));
  for (let back = 0; back < n; back += perMinute) {
    const label = back === 0 ? "now" : "−" + Math.round((back * step) / 60) + " min";
    g.fillText(label, Math.min(x(n - 1 - back), box.right - 10), box.bottom + 6);
  }
}

function drawSeries(g, values, n, x, y, stroke, fill) {
  if (values.length === 0) return;
  const first = n - values.length; // a short series ends at "now"
  g.beginPath();
  values.forEach((v, i) => (i === 0 ? g.moveTo(x(first + i), y(num(v))) : g.lineTo(x(first + i), y(num(v)))));
  g.strokeStyle = stroke;
  g.lineWidth = 1.5;
  g.lineJoin = "round";
  g.stroke();
  if (!fill) return;
  g.lineTo(x(n - 1), y(0));
  g.lineTo(x(first), y(0));
  g.closePath();
  g.globalAlpha = 0.12;
  g.fillStyle = stroke;
  g.fill();
  g.globalAlpha = 1;
}

// drawLimit draws a limit as a dashed line, labelled at the left on a
// backing of the card's color, below the line when there is no room above.
function drawLimit(g, box, py, label) {
  const line = Math.round(py) + 0.5;
  g.save();
  g.strokeStyle = color("--limit");
  g.setLineDash([5, 4]);
  g.beginPath();
  g.moveTo(box.left, line);
  g.lineTo(box.right, line);
  g.stroke();
  g.restore();
  const above = py - 16 >= box.top;
  const top = above ? py - 16 : py + 2;
  const w = g.measureText(label).width + 8;
  g.fillStyle = color("--card");
  g.fillRect(box.left + 4, top, w, 14);
  g.fillStyle = color("--limit");
  g.textAlign = "left";
  g.textBaseline = "middle";
  g.fillText(label, box.left + 8, top + 7);
}

function drawHover(g, box, px) {
  g.strokeStyle = color("--muted");
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(Math.round(px) + 0.5, box.top);
  g.lineTo(Math.round(px) + 0.5, box.bottom);
  g.stroke();
}

// hover shows the values of the second under the pointer, or with offsetX
// null the totals again.
function hover(card, offsetX) {
  const data = card.chart && card.chart.h;
  if (offsetX === null || !data) {
    card.hover = null;
  } else {
    const canvas = $(".chart", card.root);
    const n = Math.max(2, list(data.requests).length);
    const i = Math.round(((offsetX - 44) / (canvas.clientWidth - 54)) * (n - 1));
    card.hover = Math.min(n - 1, Math.max(0, i));
  }
  drawChart(card);
  updateLegend(card);
}

// updateLegend shows the totals of the last 5 minutes, or the values of the
// hovered second.
function updateLegend(card) {
  const data = (card.chart && card.chart.h) || {};
  const at = card.hover;
  const title = $(".legend-title", card.root);
  if (at === null || Number.isNaN(card.chart.end)) {
    title.textContent = "last 5 min, total";
  } else {
    const n = list(data.requests).length;
    title.textContent = "at " + fmtClock(card.chart.end - (n - 1 - at) * card.chart.step * 1000);
  }
  for (const s of SERIES) {
    const values = list(data[s.key]);
    const v = at === null ? values.reduce((a, b) => a + num(b), 0) : num(values[at]);
    $(".v-" + s.key, card.root).textContent = fmtCount(v);
  }
}

start();
