"use strict";
// compute-index what-if explorer: recomputes the index from the embedded normalised scores with
// the formulas of index.methods.aggregate (methodology.md §5 "Aggregation"): weighted arithmetic
// or geometric mean over the children present, weights re-normalised over them, optional data
// threshold; ranks 1 = best, ties share the lowest rank (§5 "Ranks"). Text is set by textContent
// only: labels come from framework files and are never parsed as HTML.
(function () {
  const D = JSON.parse(document.getElementById("explorer-data").textContent);
  const $ = (id) => document.getElementById(id);
  const kids = new Map();
  const parent = new Map();
  for (const n of D.nodes) {
    if (n.parent !== null) {
      if (!kids.has(n.parent)) kids.set(n.parent, []);
      kids.get(n.parent).push(n.code);
      parent.set(n.code, n.parent);
    }
  }
  const root = D.nodes[0].code;
  const pillars = kids.get(root);
  const aggregates = D.nodes.filter((n) => kids.has(n.code)).sort((a, b) => a.level - b.level);
  const nU = D.units.length;
  const published = new Map(D.nodes.filter((n) => n.parent !== null).map((n) => [n.code, n.w]));
  const inputs = new Map(); // code -> {range, number, share} elements
  for (const el of document.querySelectorAll("[data-w]")) {
    const c = el.dataset.w;
    if (!inputs.has(c)) inputs.set(c, {});
    inputs.get(c)[el.dataset.role] = el;
  }
  const tiles = new Map([...document.querySelectorAll(".tile")].map((t) => [t.dataset.unit, t]));
  const state = { w: new Map(published), method: D.method };

  // The data threshold of a parent at a level: one share, one per level, or none (null).
  const thresh = (level) =>
    D.dat_thresh === null || typeof D.dat_thresh === "number"
      ? D.dat_thresh
      : D.dat_thresh[level] ?? null;

  // Scores of every node (code -> array over units), bottom-up.
  function compute(method) {
    const geo = method === "gmean";
    const sh = geo ? D.shift : null;
    const f = sh ? (sh.u - sh.to) / (sh.u - sh.l) : 1;
    const s = new Map();
    for (const [code, xs] of Object.entries(D.x)) {
      s.set(code, xs.map((v) => (v === null ? NaN : sh ? sh.to + (v - sh.l) * f : v)));
    }
    for (const p of aggregates) {
      const ch = kids.get(p.code);
      const out = new Array(nU);
      for (let i = 0; i < nU; i++) {
        let num = 0, den = 0, k = 0;
        for (const c of ch) {
          const v = s.get(c)[i];
          if (Number.isNaN(v)) continue;
          const w = state.w.get(c);
          num += w * (geo ? Math.log(v) : v);
          den += w;
          k += 1;
        }
        let y = den !== 0 ? num / den : NaN;
        const t = thresh(p.level);
        if (t !== null && k / ch.length < t) y = NaN;
        out[i] = geo ? Math.exp(y) : y;
      }
      s.set(p.code, out);
    }
    return s;
  }

  const ranks = (v) => v.map((a) => (Number.isNaN(a) ? NaN : 1 + v.filter((b) => b > a).length));
  const fmt = (v) => (Number.isNaN(v) ? "—" : v.toFixed(2));
  const fmtChange = (d) => (Number.isNaN(d) ? "" : d > 0 ? "+" + d : String(d));
  const shade = (r) => 25 + (60 * (r - 1)) / Math.max(nU - 1, 1); // lightness %, rank 1 darkest

  function cell(tr, text, cls, value) {
    const td = document.createElement("td");
    td.className = cls;
    td.textContent = text;
    if (value !== undefined) td.dataset.v = String(value);
    tr.appendChild(td);
  }

  function render() {
    const s = compute(state.method);
    const score = s.get(root);
    const rank = ranks(score);
    const prank = pillars.map((p) => ranks(s.get(p)));
    const order = [...Array(nU).keys()].sort((a, b) => {
      const ra = Number.isNaN(rank[a]) ? Infinity : rank[a];
      const rb = Number.isNaN(rank[b]) ? Infinity : rank[b];
      const ea = D.units[a].en, eb = D.units[b].en;
      return ra - rb || (ea < eb ? -1 : ea > eb ? 1 : 0);
    });
    const body = document.createElement("tbody");
    let moved = 0;
    for (const i of order) {
      const u = D.units[i];
      const was = D.published.rank[i] === null ? NaN : D.published.rank[i];
      const change = was - rank[i];
      if (change !== 0 && !(Number.isNaN(was) && Number.isNaN(rank[i]))) moved += 1;
      const tr = document.createElement("tr");
      tr.dataset.unit = u.code;
      cell(tr, Number.isNaN(rank[i]) ? "—" : String(rank[i]), "num rank");
      cell(tr, fmtChange(change), "num change");
      cell(tr, u.zh + " " + u.en, "txt");
      cell(tr, fmt(score[i]), "num score", score[i]);
      pillars.forEach((p, k) => {
        const v = s.get(p)[i];
        cell(tr, fmt(v) + " (" + (Number.isNaN(v) ? "—" : prank[k][i]) + ")", "num pillar", v);
      });
      body.appendChild(tr);
      const tile = tiles.get(u.code);
      if (tile) {
        const light = Number.isNaN(rank[i]) ? 88 : shade(rank[i]);
        tile.style.background = Number.isNaN(rank[i]) ? "#ddd" : "hsl(212,60%," + light + "%)";
        tile.style.color = light < 55 ? "#fff" : "#1d2733";
        tile.querySelector("span").textContent = Number.isNaN(rank[i]) ? "—" : String(rank[i]);
      }
    }
    $("ranking").replaceChild(body, $("ranking").tBodies[0]);
    $("status").textContent =
      moved === 0
        ? "与发布排名相同 Same ranking as published"
        : moved + " 个地区名次变化 regions change rank against the published ranking";
    $("zero").hidden = ![...kids.values()].some((ch) => ch.every((c) => state.w.get(c) === 0));
    for (const [code, el] of inputs) {
      const w = state.w.get(code);
      const total = kids.get(parent.get(code)).reduce((t, c) => t + state.w.get(c), 0);
      if (document.activeElement !== el.range) el.range.value = String(w);
      if (document.activeElement !== el.number) el.number.value = String(w);
      el.share.textContent = total > 0 ? ((100 * w) / total).toFixed(1) + "%" : "—";
    }
    $("method").value = state.method;
    $("fragment").value = fragment();
  }

  // #w=code:weight,…&a=method — only what differs from the published state.
  function fragment() {
    const w = [...state.w].filter(([c, v]) => v !== published.get(c)).map(([c, v]) => c + ":" + v);
    const parts = [];
    if (w.length) parts.push("w=" + w.join(","));
    if (state.method !== D.method) parts.push("a=" + state.method);
    return parts.length ? "#" + parts.join("&") : "";
  }

  function applyFragment() {
    state.w = new Map(published);
    state.method = D.method;
    let bad = false, text = "";
    try {
      text = decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      bad = true;
    }
    for (const part of text.split("&")) {
      if (!part) continue;
      const [key, val] = [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)];
      if (key === "a" && D.methods.includes(val)) state.method = val;
      else if (key === "w") {
        for (const item of val.split(",")) {
          const [c, v] = item.split(":");
          const x = Number(v);
          if (published.has(c) && v !== "" && Number.isFinite(x) && x >= 0) state.w.set(c, x);
          else bad = true;
        }
      } else bad = true;
    }
    $("warning").hidden = !bad;
  }

  // The address bar follows the state; while a slider moves, only once it rests (browsers
  // throttle rapid history updates).
  let pending = 0;
  const address = () => history.replaceState(null, "", location.href.split("#")[0] + fragment());
  function update(now) {
    render();
    clearTimeout(pending);
    if (now) address();
    else pending = setTimeout(address, 300);
  }

  for (const [code, el] of inputs) {
    for (const input of [el.range, el.number]) {
      input.addEventListener("input", () => {
        const x = Number(input.value);
        if (input.value === "" || !Number.isFinite(x) || x < 0) return;
        state.w.set(code, x);
        update();
      });
    }
  }
  $("method").addEventListener("change", () => {
    state.method = $("method").value;
    update(true);
  });
  $("reset").addEventListener("click", () => {
    state.w = new Map(published);
    state.method = D.method;
    $("warning").hidden = true;
    update(true);
  });
  window.addEventListener("hashchange", () => {
    applyFragment();
    render();
  });
  applyFragment();
  $("controls").hidden = false;
  $("main").classList.add("live"); // controls beside the results (wide screens)
  render();
})();
