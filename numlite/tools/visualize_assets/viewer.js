/* numlite visualize: the page's script (inlined into the HTML; no libraries, no network).
 *
 * The layout comes computed from Python (numlite.tools.visualize.layout_subgraph); this script
 * only draws it: each view is one SVG whose pan and zoom change a single transform attribute
 * (applied at most once per animation frame), and labels are hidden when zoomed far out.
 * location.hash "#subgraph=N&select=op:K" (or select=tensor:K) selects a subgraph and a node.
 */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("numlite-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var cur = -1;            // subgraph shown
  var sel = null;          // {kind: "op" | "tensor", i}
  var nodeEls = [];        // graph node <g> elements, by layout node index
  var edgeEls = [];        // visible edge paths, by layout edge index
  var opNode = {};         // op index -> layout node index
  var ioNode = {};         // tensor index -> layout node indices of input/output/variable nodes
  var tensorEdges = {};    // tensor index -> layout edge indices
  var planRects = {};      // tensor index -> plan rect element
  var hits = [], hitPos = -1;

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function fmtBytes(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(2) + " MB";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + " kB";
    return n + " B";
  }
  function hue(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  // -- pan and zoom: one transform per view, applied once per frame -------------------------
  function PanZoom(svg, root, onFar) {
    var self = this, frame = 0, drag = null;
    this.svg = svg; this.root = root; this.k = 1; this.tx = 0; this.ty = 0; this.moved = false;
    this.apply = function () {
      if (frame) return;
      frame = requestAnimationFrame(function () { frame = 0; self.applyNow(); });
    };
    this.applyNow = function () {
      root.setAttribute("transform", "translate(" + self.tx.toFixed(1) + "," + self.ty.toFixed(1) + ") scale(" +
        self.k.toFixed(5) + ")");
      if (onFar) onFar(self.k);
    };
    this.size = function () {
      var r = svg.getBoundingClientRect();
      return [Math.max(r.width, 100), Math.max(r.height, 100)];
    };
    this.centre = function (x, y, k) {
      var s = self.size();
      if (k) self.k = k;
      self.tx = s[0] / 2 - x * self.k; self.ty = s[1] / 2 - y * self.k;
      self.applyNow();
    };
    this.fit = function (w, h, minK, top) {
      var s = self.size();
      var k = Math.min(s[0] / (w + 20), s[1] / (h + 20), 1.2);
      if (minK && k < minK) {  // too small to read: fit the width (at least minK), show the top
        k = Math.min(1.2, Math.max(minK, s[0] / (w + 20)));
        self.k = k; self.tx = (s[0] - w * k) / 2; self.ty = top ? 10 : (s[1] - h * k) / 2;
      } else {
        self.k = k; self.tx = (s[0] - w * k) / 2; self.ty = (s[1] - h * k) / 2;
      }
      self.applyNow();
    };
    svg.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, tx: self.tx, ty: self.ty};
      self.moved = false;
    });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!self.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      self.moved = true;
      svg.classList.add("dragging");
      self.tx = drag.tx + dx; self.ty = drag.ty + dy;
      self.apply();
    });
    window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
      var dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      var k2 = Math.min(8, Math.max(0.01, self.k * Math.exp(-dy * 0.0015)));
      self.tx = mx - (mx - self.tx) * (k2 / self.k);
      self.ty = my - (my - self.ty) * (k2 / self.k);
      self.k = k2;
      self.apply();
    }, {passive: false});
  }

  var graphSvg = $("graph"), planSvg = $("plan"), tip = $("tooltip");
  var gz, pz;

  // -- the graph ------------------------------------------------------------------------------
  function edgePath(p) {
    var d = "M" + p[0] + " " + p[1];
    for (var i = 2; i < p.length; i += 2) {
      var x0 = p[i - 2], y0 = p[i - 1], x1 = p[i], y1 = p[i + 1], my = (y0 + y1) / 2;
      d += "C" + x0 + " " + my + " " + x1 + " " + my + " " + x1 + " " + y1;
    }
    return d;
  }

  function drawGraph(sg) {
    var L = sg.layout, parts = [], hitParts = [], i;
    parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" ' +
      'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#8a94a3"/></marker></defs><g class="root">' +
      '<g class="edges">');
    tensorEdges = {};
    for (i = 0; i < L.edges.length; i++) {
      var e = L.edges[i], d = edgePath(e.pts);
      parts.push('<path class="e" d="' + d + '"/>');
      hitParts.push('<path class="h" data-e="' + i + '" d="' + d + '"/>');
      (tensorEdges[e.t] = tensorEdges[e.t] || []).push(i);
    }
    parts.push('</g><g class="hits">' + hitParts.join("") + '</g><g class="nodes">');
    opNode = {}; ioNode = {};
    for (i = 0; i < L.nodes.length; i++) {
      var n = L.nodes[i], fill = "";
      if (n.kind === "op") {
        opNode[n.ref] = i;
        fill = ' style="fill:hsl(' + hue(n.label) + ',55%,86%)"';
      } else {
        (ioNode[n.ref] = ioNode[n.ref] || []).push(i);
      }
      var rx = n.kind === "op" ? 4 : n.h / 2;
      var text = n.label.length > 32 ? n.label.slice(0, 30) + "\u2026" : n.label;
      parts.push('<g class="n ' + n.kind + '" data-n="' + i + '" transform="translate(' + n.x + "," + n.y + ')">' +
        '<rect width="' + n.w + '" height="' + n.h + '" rx="' + rx + '"' + fill + '/><text x="' + (n.w / 2) +
        '" y="' + (n.h / 2 + 4) + '" text-anchor="middle">' + esc(text) + "</text></g>");
    }
    parts.push("</g></g>");
    graphSvg.innerHTML = parts.join("");
    var root = graphSvg.querySelector("g.root");
    nodeEls = Array.prototype.slice.call(graphSvg.querySelectorAll("g.n"));
    edgeEls = Array.prototype.slice.call(graphSvg.querySelectorAll("path.e"));
    var far = null;
    gz = new PanZoom(graphSvg, root, function (k) {
      var f = k < 0.45;
      if (f !== far) { far = f; graphSvg.classList.toggle("far", f); }
    });
    gz.fit(L.width, L.height, 0.6, true);
  }

  // -- the memory plan ------------------------------------------------------------------------
  var PW = 1000, PH = 300;
  function drawPlan(sg) {
    var P = sg.plan, parts = [], i;
    planRects = {};
    var nsteps = Math.max(P.steps.length, 1), arena = Math.max(P.arena_bytes, 1);
    var sx = PW / nsteps, sy = PH / arena;
    $("plan-summary").textContent = "arena " + P.arena_bytes.toLocaleString() + " bytes (" + fmtBytes(P.arena_bytes) +
      "), no reuse " + fmtBytes(P.no_reuse_bytes) + ", lower bound " + fmtBytes(P.lower_bound_bytes) + "; " +
      P.buffers.length + " buffers over " + P.steps.length + " steps" + (P.source === "numlite" ? "" : " (estimated)");
    $("plan-note").textContent = P.note || "";
    parts.push('<g class="root">');
    parts.push('<line class="axis" x1="0" y1="0" x2="0" y2="' + PH + '"/><line class="axis" x1="0" y1="' + PH +
      '" x2="' + PW + '" y2="' + PH + '"/>');
    if (P.lower_bound_bytes && P.lower_bound_bytes < arena) {
      parts.push('<line class="bound" x1="0" x2="' + PW + '" y1="' + (PH - P.lower_bound_bytes * sy) + '" y2="' +
        (PH - P.lower_bound_bytes * sy) + '"><title>lower bound</title></line>');
    }
    for (i = 0; i < P.buffers.length; i++) {
      var b = P.buffers[i];  // [kind, tensor or node, name, offset, bytes, first, last]
      var x = b[5] * sx, w = (b[6] - b[5] + 1) * sx, h = Math.max(b[4] * sy, 0.5), y = PH - b[3] * sy - h;
      var cls = b[0] === "t" ? "b" : "b scratch";
      var fill = b[0] === "t" ? ' style="fill:hsl(' + ((b[1] * 47) % 360) + ',60%,62%)"' : "";
      parts.push('<rect class="' + cls + '" data-b="' + i + '" x="' + x.toFixed(2) + '" y="' + y.toFixed(2) +
        '" width="' + w.toFixed(2) + '" height="' + h.toFixed(2) + '"' + fill + "/>");
    }
    var every = Math.max(1, Math.ceil(nsteps / 20));
    for (i = 0; i < nsteps; i += every) {
      parts.push('<text class="tick" x="' + ((i + 0.5) * sx).toFixed(1) + '" y="' + (PH + 12) +
        '" text-anchor="middle">' + i + "</text>");
    }
    for (i = 0; i <= 4; i++) {
      parts.push('<text class="tick" x="-4" y="' + (PH - PH * i / 4 + 3).toFixed(1) + '" text-anchor="end">' +
        fmtBytes(Math.round(arena * i / 4)) + "</text>");
    }
    parts.push('<text class="tick" x="' + PW / 2 + '" y="' + (PH + 26) + '" text-anchor="middle">execution step</text>');
    parts.push("</g>");
    planSvg.innerHTML = parts.join("");
    var rects = planSvg.querySelectorAll("rect.b");
    for (i = 0; i < rects.length; i++) {
      var bb = P.buffers[+rects[i].getAttribute("data-b")];
      if (bb[0] === "t") planRects[bb[1]] = rects[i];
    }
    pz = new PanZoom(planSvg, planSvg.querySelector("g.root"));
    var s = pz.size();
    pz.k = Math.min((s[0] - 90) / PW, (s[1] - 40) / PH);
    pz.tx = 70; pz.ty = 8;
    pz.applyNow();
  }

  function planText(P, b) {
    var a = P.steps[b[5]], z = P.steps[b[6]], sg = D.subgraphs[cur];
    var opname = function (n) { return n === undefined ? "?" : "#" + n + " " + sg.ops[n].type; };
    return (b[0] === "t" ? "T#" + b[1] + " " + b[2] : b[2]) + "\n" + b[4].toLocaleString() + " bytes at offset " +
      b[3].toLocaleString() + "\nsteps " + b[5] + "-" + b[6] + " (" + opname(a) + " .. " + opname(z) + ")";
  }

  // -- details panel --------------------------------------------------------------------------
  function tensorRow(sg, t, slot) {
    if (t < 0) return "<tr><th>" + esc(slot) + "</th><td colspan=2><i>omitted (-1)</i></td></tr>";
    var T = sg.tensors[t];
    return "<tr><th>" + esc(slot) + '</th><td><a href="#subgraph=' + sg.index + "&select=tensor:" + t + '">T#' + t +
      "</a> " + esc(T[1]) + (T[7] ? ' <i>' + esc(T[7]) + "</i>" : "") + "</td><td>" + esc(T[2]) + " [" + T[3].join(", ") +
      "]" + (T[6] ? "<br>" + esc(T[6]) : "") + "</td></tr>";
  }
  function kvTable(obj) {
    var rows = [];
    for (var k in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
      var v = obj[k];
      rows.push("<tr><th>" + esc(k) + "</th><td>" + esc(typeof v === "object" && v !== null ? JSON.stringify(v) : v) +
        "</td></tr>");
    }
    return "<table>" + rows.join("") + "</table>";
  }
  function opPanel(sg, i) {
    var op = sg.ops[i], h = [], k;
    h.push('<h3 id="panel-title">#' + op.i + " " + esc(op.type) + " <small>v" + op.v + "</small></h3>");
    h.push("<table><tr><th>kind</th><td>op</td></tr><tr><th>op code</th><td>" + op.code + " (" + esc(op.builtin) +
      ")</td></tr><tr><th>version</th><td>" + op.v + "</td></tr><tr><th>subgraph</th><td>" + sg.index + "</td></tr>");
    if (op.calls.length) {
      h.push("<tr><th>calls</th><td>" + op.calls.map(function (c) {
        return '<a href="#subgraph=' + c + '">subgraph ' + c + " " + esc(D.subgraphs[c].name) + "</a>";
      }).join(", ") + "</td></tr>");
    }
    h.push("</table>");
    if (op.opts) h.push("<h4>options (" + esc(op.otype) + ")</h4>" + kvTable(op.opts));
    else h.push("<h4>options</h4><p class=hint>none</p>");
    if (op.custom) {
      h.push("<h4>custom options (" + esc(op.custom.format) + ", " + op.custom.bytes + " bytes)</h4>");
      h.push(op.custom.format === "flexbuffers" && op.custom.value && typeof op.custom.value === "object" &&
        !Array.isArray(op.custom.value) ? kvTable(op.custom.value) : "<pre>" + esc(typeof op.custom.value ===
        "string" ? op.custom.value : JSON.stringify(op.custom.value)) + "</pre>");
    }
    h.push("<h4>inputs</h4><table>");
    for (k = 0; k < op.in.length; k++) h.push(tensorRow(sg, op.in[k], k));
    h.push("</table><h4>outputs</h4><table>");
    for (k = 0; k < op.out.length; k++) h.push(tensorRow(sg, op.out[k], k));
    h.push("</table>");
    if (op.inter.length) {
      h.push("<h4>intermediates</h4><table>");
      for (k = 0; k < op.inter.length; k++) h.push(tensorRow(sg, op.inter[k], k));
      h.push("</table>");
    }
    return h.join("");
  }
  function tensorPanel(sg, t) {
    var T = sg.tensors[t], h = [], q = sg.quant[t], prod = [], cons = [];
    sg.ops.forEach(function (op) {
      if (op.out.indexOf(t) >= 0) prod.push(op);
      if (op.in.indexOf(t) >= 0) cons.push(op);
    });
    var link = function (op) {
      return '<a href="#subgraph=' + sg.index + "&select=op:" + op.i + '">#' + op.i + " " + esc(op.type) + "</a>";
    };
    h.push('<h3 id="panel-title">T#' + t + " " + esc(T[1]) + "</h3><table>");
    h.push("<tr><th>kind</th><td>tensor " + esc(T[7]) + "</td></tr><tr><th>type</th><td>" + esc(T[2]) +
      "</td></tr><tr><th>shape</th><td>[" + T[3].join(", ") + "]</td></tr><tr><th>shape_signature</th><td>[" +
      T[4].join(", ") + "]</td></tr><tr><th>buffer</th><td>" + T[5] + "</td></tr><tr><th>bytes</th><td>" +
      T[8].toLocaleString() + "</td></tr>");
    if (q) {
      h.push("<tr><th>quantization</th><td>" + esc(T[6]) + "</td></tr><tr><th>scales</th><td>" +
        esc(q.scales.join(", ")) + (q.count > q.scales.length ? ", ..." : "") + "</td></tr><tr><th>zero points</th><td>" +
        esc(q.zero_points.join(", ")) + (q.count > q.zero_points.length ? ", ..." : "") + "</td></tr>");
    }
    h.push("<tr><th>written by</th><td>" + (prod.map(link).join(", ") || "-") + "</td></tr>");
    h.push("<tr><th>read by</th><td>" + (cons.map(link).join(", ") || "-") + "</td></tr>");
    var P = sg.plan;
    for (var i = 0; i < P.buffers.length; i++) {
      var b = P.buffers[i];
      if (b[0] === "t" && b[1] === t) {
        h.push("<tr><th>arena</th><td>offset " + b[3].toLocaleString() + ", " + b[4].toLocaleString() +
          " bytes, steps " + b[5] + "-" + b[6] + "</td></tr>");
      }
    }
    h.push("</table>");
    return h.join("");
  }

  // -- selection ------------------------------------------------------------------------------
  function clearSel() {
    var s = graphSvg.querySelectorAll(".sel");
    for (var i = 0; i < s.length; i++) s[i].classList.remove("sel");
    s = planSvg.querySelectorAll(".sel");
    for (i = 0; i < s.length; i++) s[i].classList.remove("sel");
  }
  function nodeCentre(i) {
    var n = D.subgraphs[cur].layout.nodes[i];
    return [n.x + n.w / 2, n.y + n.h / 2];
  }
  function select(kind, i, centre) {
    var sg = D.subgraphs[cur], c;
    if (kind === "op" && !(i >= 0 && i < sg.ops.length)) return;
    if (kind === "tensor" && !(i >= 0 && i < sg.tensors.length)) return;
    clearSel();
    sel = {kind: kind, i: i};
    if (kind === "op") {
      $("panel").innerHTML = opPanel(sg, i);
      var ni = opNode[i];
      if (ni !== undefined) {
        nodeEls[ni].classList.add("sel");
        c = nodeCentre(ni);
      }
      var id = "o" + i;  // only the edges into and out of this op
      sg.layout.edges.forEach(function (e, k) {
        if (e.from === id || e.to === id) edgeEls[k].classList.add("sel");
      });
    } else {
      $("panel").innerHTML = tensorPanel(sg, i);
      var es = tensorEdges[i] || [];
      es.forEach(function (e) { edgeEls[e].classList.add("sel"); });
      (ioNode[i] || []).forEach(function (n) { nodeEls[n].classList.add("sel"); });
      if (es.length) {
        var p = sg.layout.edges[es[0]].pts;
        c = [p[0], p[1]];
      } else if (ioNode[i]) c = nodeCentre(ioNode[i][0]);
      if (planRects[i]) planRects[i].classList.add("sel");
    }
    if (centre && c) gz.centre(c[0], c[1], Math.max(gz.k, 0.6));
    history.replaceState(null, "", "#subgraph=" + cur + "&select=" + kind + ":" + i);
  }

  // -- search ---------------------------------------------------------------------------------
  function search(q) {
    var sg = D.subgraphs[cur], s = graphSvg.querySelectorAll(".hit"), i;
    for (i = 0; i < s.length; i++) s[i].classList.remove("hit");
    hits = []; hitPos = -1;
    q = q.trim().toLowerCase();
    graphSvg.classList.toggle("searching", q.length > 0);
    if (!q) { $("search-status").textContent = ""; return; }
    var m = /^#?(\d+)$/.exec(q);
    sg.ops.forEach(function (op) {
      if ((m && op.i === +m[1]) || op.type.toLowerCase().indexOf(q) >= 0) {
        var ni = opNode[op.i];
        nodeEls[ni].classList.add("hit");
        hits.push(nodeCentre(ni));
      }
    });
    if (!m) {
      sg.tensors.forEach(function (T) {
        if (T[1].toLowerCase().indexOf(q) < 0) return;
        var es = tensorEdges[T[0]] || [], ns = ioNode[T[0]] || [];
        es.forEach(function (e) { edgeEls[e].classList.add("hit"); });
        ns.forEach(function (n) { nodeEls[n].classList.add("hit"); });
        if (ns.length) hits.push(nodeCentre(ns[0]));
        else if (es.length) { var p = sg.layout.edges[es[0]].pts; hits.push([p[0], p[1]]); }
      });
    }
    $("search-status").textContent = hits.length ? hits.length + " match" + (hits.length > 1 ? "es" : "") +
      " (Enter: next)" : "no match";
    nextHit();
  }
  function nextHit() {
    if (!hits.length) return;
    hitPos = (hitPos + 1) % hits.length;
    gz.centre(hits[hitPos][0], hits[hitPos][1], Math.max(gz.k, 0.7));
    if (hits.length > 1) $("search-status").textContent = (hitPos + 1) + "/" + hits.length + " (Enter: next)";
  }

  // -- subgraphs and the hash -----------------------------------------------------------------
  function showSubgraph(k) {
    if (!(k >= 0 && k < D.subgraphs.length) || k === cur) return;
    cur = k;
    $("sg-select").value = String(k);
    var sg = D.subgraphs[k];
    drawGraph(sg);
    drawPlan(sg);
    var secs = document.querySelectorAll(".sg-tables");
    for (var i = 0; i < secs.length; i++) secs[i].hidden = +secs[i].getAttribute("data-sg") !== k;
    sel = null;
    $("panel").innerHTML = '<h3 id="panel-title">subgraph ' + k + " " + esc(sg.name) + "</h3><p>" + sg.ops.length +
      " ops, " + sg.tensors.length + " tensors, " + sg.layout.layers + " layers.</p><p class=hint>Click an op or an " +
      "edge (a tensor) to see its details; drag to pan, wheel to zoom.</p>";
    if ($("search").value) search($("search").value);
  }
  function applyHash(centre) {
    var h = decodeURIComponent(location.hash.replace(/^#/, "")), args = {};
    h.split("&").forEach(function (kv) {
      var j = kv.indexOf("=");
      if (j > 0) args[kv.slice(0, j)] = kv.slice(j + 1);
    });
    var k = args.subgraph !== undefined ? parseInt(args.subgraph, 10) : (cur < 0 ? 0 : cur);
    showSubgraph(isNaN(k) ? 0 : k);
    var m = /^(op|tensor):(\d+)$/.exec(args.select || "");
    if (m) select(m[1], +m[2], centre);
  }

  // -- events ---------------------------------------------------------------------------------
  graphSvg.addEventListener("click", function (ev) {
    if (gz.moved) return;
    var g = ev.target.closest ? ev.target.closest("g.n") : null;
    var sg = D.subgraphs[cur];
    if (g) {
      var n = sg.layout.nodes[+g.getAttribute("data-n")];
      select(n.kind === "op" ? "op" : "tensor", n.ref, false);
    } else if (ev.target.hasAttribute && ev.target.hasAttribute("data-e")) {
      select("tensor", sg.layout.edges[+ev.target.getAttribute("data-e")].t, false);
    }
  });
  function showTip(ev, text, wrap) {
    var r = wrap.getBoundingClientRect();
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX - r.left + 14, r.width - 200) + "px";
    tip.style.top = (ev.clientY - r.top + 14) + "px";
  }
  graphSvg.addEventListener("mousemove", function (ev) {
    var t = ev.target, sg = D.subgraphs[cur];
    if (t.hasAttribute && t.hasAttribute("data-e")) {
      var e = sg.layout.edges[+t.getAttribute("data-e")], T = sg.tensors[e.t];
      showTip(ev, "T#" + T[0] + " " + T[1] + "\n" + T[2] + " [" + T[3].join(", ") + "]" + (T[6] ? "\n" + T[6] : ""),
        $("graph-wrap"));
    } else {
      var g = t.closest ? t.closest("g.n") : null;
      if (g) {
        var n = sg.layout.nodes[+g.getAttribute("data-n")];
        if (n.kind === "op") {
          var op = sg.ops[n.ref];
          showTip(ev, "#" + op.i + " " + op.type + " v" + op.v, $("graph-wrap"));
        } else {
          var TT = sg.tensors[n.ref];
          showTip(ev, n.kind + " T#" + TT[0] + " " + TT[1] + "\n" + TT[2] + " [" + TT[3].join(", ") + "]",
            $("graph-wrap"));
        }
      } else tip.hidden = true;
    }
  });
  graphSvg.addEventListener("mouseleave", function () { tip.hidden = true; });
  var planTip = document.createElement("div");
  planTip.id = "plan-tooltip";
  planTip.className = "plan-tip";
  planTip.hidden = true;
  planTip.style.cssText = "position:fixed;pointer-events:none;background:#20262e;color:#fff;padding:4px 7px;" +
    "border-radius:4px;font-size:12px;white-space:pre-wrap;z-index:9";
  document.body.appendChild(planTip);
  planSvg.addEventListener("mousemove", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-b")) {
      var P = D.subgraphs[cur].plan;
      planTip.textContent = planText(P, P.buffers[+t.getAttribute("data-b")]);
      planTip.hidden = false;
      planTip.style.left = (ev.clientX + 14) + "px";
      planTip.style.top = (ev.clientY + 14) + "px";
    } else planTip.hidden = true;
  });
  planSvg.addEventListener("mouseleave", function () { planTip.hidden = true; });
  planSvg.addEventListener("click", function (ev) {
    if (pz.moved) return;
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-b")) {
      var b = D.subgraphs[cur].plan.buffers[+t.getAttribute("data-b")];
      if (b[0] === "t") select("tensor", b[1], true);
      else select("op", D.subgraphs[cur].plan.steps[b[5]], true);
    }
  });
  $("sg-select").addEventListener("change", function () {
    showSubgraph(+this.value);
    history.replaceState(null, "", "#subgraph=" + cur);
  });
  var timer = 0;
  $("search").addEventListener("input", function () {
    var v = this.value;
    clearTimeout(timer);
    timer = setTimeout(function () { search(v); }, 120);
  });
  $("search").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(timer); if (hitPos < 0) search(this.value); else nextHit(); }
    if (ev.key === "Escape") { this.value = ""; search(""); }
  });
  $("fit").addEventListener("click", function () {
    var L = D.subgraphs[cur].layout;
    gz.fit(L.width, L.height);
  });
  window.addEventListener("hashchange", function () {
    applyHash(true);
    $("graph-wrap").scrollIntoView({block: "nearest"});
  });

  // -- start ----------------------------------------------------------------------------------
  applyHash(true);
  var drawn = performance.now();
  document.documentElement.setAttribute("data-drawn-ms", drawn.toFixed(1));
  $("timing").textContent = "drawn " + drawn.toFixed(0) + " ms after load started";
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      var painted = performance.now();
      document.documentElement.setAttribute("data-painted-ms", painted.toFixed(1));
      $("timing").textContent = "drawn " + drawn.toFixed(0) + " ms, painted " + painted.toFixed(0) +
        " ms after load started";
    });
  });
})();
