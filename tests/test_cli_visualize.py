"""``numlite visualize``: the self-contained HTML page (tables, layout, memory plan), the command's
output and errors, and - where a Chromium binary is found - the page in a real headless browser:
drawn, a node selected through ``location.hash``, a real mouse click, drag and wheel, a screenshot."""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser

import numpy as np
import pytest
from util import numlite_command

import numlite
from numlite import flex
from numlite.builder import ModelBuilder
from numlite.tools import visualize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LSTM_WHILE = os.path.join(ROOT, "tests", "data", "tf", "k3_lstm_while_float.tflite")


def run_cli(argv: list[str]) -> int:
    """``numlite ...`` (ARGV starts with the subcommand)."""
    return numlite_command(argv, catch_exit=False)


# -- models ------------------------------------------------------------------------------------
def add_model() -> bytes:
    mb = ModelBuilder()
    a = mb.input("a", (2, 3), np.float32)
    b = mb.input("b", (2, 3), np.float32)
    s = mb.tensor("sum", (2, 3), np.float32)
    y = mb.tensor("out", (2, 3), np.float32)
    mb.op("ADD", [a, b], [s], fused_activation_function="NONE")
    mb.op("MUL", [s, a], [y], fused_activation_function="RELU")
    mb.output(y)
    return mb.build()


def quant_model() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 2), np.int8, quantization={"scale": 0.05, "zero_point": -3})
    w = mb.const("w", np.arange(54, dtype=np.int8).reshape(3, 3, 3, 2) - 20,
                 quantization={"scale": [0.01, 0.02, 0.03], "zero_point": 0, "quantized_dimension": 0})
    b = mb.const("b", np.zeros(3, np.int32), quantization={"scale": [0.0005, 0.001, 0.0015], "zero_point": 0})
    y = mb.tensor("y", (1, 4, 4, 3), np.int8, quantization={"scale": 0.1, "zero_point": 2})
    mb.op("CONV_2D", [x, w, b], [y], padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU6")
    mb.output(y)
    return mb.build()


def custom_model() -> bytes:
    """Two custom ops numlite has no kernel for: one with FlexBuffers options, one with raw bytes."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32)
    h = mb.tensor("h", (2, 3), np.float32)
    y = mb.tensor("y", (2, 3), np.float32)
    z = mb.tensor("z", (2, 3), np.float32)
    mb.op("custom:NoSuchOp", [x], [h], custom_options=flex.encode({"alpha": 0.5, "mode": "fast", "k": [1, 2]}))
    mb.op("custom:RawOp", [h], [y], custom_options=bytes([0xDE, 0xAD, 0xBE, 0xEF]))
    mb.op("ADD", [y, x], [z], fused_activation_function="NONE")
    mb.output(z)
    return mb.build()


def big_model(n_ops: int = 700) -> bytes:
    """A long chain of residual CONV_2D + ADD blocks, with two-way branches and a long skip."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    shape = (1, 8, 8, 4)
    x = mb.input("input", shape, np.float32)
    w = mb.const("w", (rng.standard_normal((4, 3, 3, 4)) * 0.1).astype(np.float32))
    b = mb.const("b", np.zeros(4, np.float32))
    count = [0]

    def op(name: str, ins: list[int], **kw) -> int:
        y = mb.tensor(f"block{count[0]}/{name.lower()}", shape, np.float32)
        mb.op(name, ins, [y], **kw)
        count[0] += 1
        return y

    def conv(src: int) -> int:
        return op("CONV_2D", [src, w, b], padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU")

    cur = x
    while count[0] < n_ops - 4:
        if (count[0] // 3) % 4 == 3:
            left, right = conv(cur), conv(cur)
            cur = op("ADD", [left, right], fused_activation_function="NONE")
        else:
            cur = op("ADD", [conv(cur), cur], fused_activation_function="NONE")
    while count[0] < n_ops:
        cur = op("ADD", [cur, x], fused_activation_function="NONE")
    mb.output(cur)
    return mb.build()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("vis")
    out = {}
    for name, build in (("add", add_model), ("quant", quant_model), ("custom", custom_model), ("big", big_model)):
        p = d / f"{name}.tflite"
        p.write_bytes(build())
        out[name] = str(p)
    return out


# -- HTML checks -------------------------------------------------------------------------------
class Checker(HTMLParser):
    """Collects tags, nesting errors and every URL-valued attribute."""

    VOID = {"meta", "input", "br", "img", "link", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}
    SVG_SELF = {"rect", "path", "line", "circle", "stop", "polygon", "polyline", "ellipse", "use"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: dict[str, int] = {}
        self.urls: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k in ("src", "href", "action", "data", "poster", "xlink:href") and v is not None:
                self.urls.append(v)
            if k == "id":
                self.ids.append(v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def check_html(text: str) -> Checker:
    c = Checker()
    c.feed(text)
    c.close()
    assert not c.errors, c.errors[:5]
    assert c.stack == [], c.stack
    assert len(c.ids) == len(set(c.ids)), "duplicate ids"
    assert text.startswith("<!DOCTYPE html>")
    # self-contained: nothing fetched from anywhere
    assert "http://" not in text and "https://" not in text
    assert all(u.startswith("#") for u in c.urls), [u for u in c.urls if not u.startswith("#")][:5]
    assert c.tags.get("link", 0) == 0 and "@import" not in text and "@font-face" not in text
    assert not re.search(r"url\((?!#)", text)
    assert not re.search(r"<script[^>]*\bsrc=", text)
    return c


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="numlite-data">(.*?)</script>', text, re.S)
    assert m
    return json.loads(m.group(1))


# -- the page ----------------------------------------------------------------------------------
def test_render_tables_and_data(files):
    text = visualize.render(files["add"])
    c = check_html(text)
    assert c.tags["script"] == 2 and c.tags["style"] == 1 and c.tags["svg"] == 2
    for heading in ("Tensors", "Ops", "Buffers", "Operator codes", "Inputs/Outputs"):
        assert f"<summary>{heading} (" in text
    for col in ("shape_signature", "quantization", "buffer", "first 16 bytes", "builtin_code", "custom_code"):
        assert f"<th>{col}</th>" in text
    assert "ADD (0)" in text and "MUL (1)" in text  # op code column: name (op code index)
    d = page_data(text)
    assert d["model"]["name"] == "add.tflite" and d["model"]["bytes"] == os.path.getsize(files["add"])
    sg = d["subgraphs"][0]
    assert [o["type"] for o in sg["ops"]] == ["ADD", "MUL"]
    assert sg["ops"][1]["opts"]["fused_activation_function"] == "RELU"  # enums by name
    assert sg["tensors"][0][:6] == [0, "a", "FLOAT32", [2, 3], [2, 3], 1]
    assert sg["plan"]["source"] == "numlite" and sg["plan"]["arena_bytes"] > 0
    # the same bytes or a loaded model give the same page data
    with open(files["add"], "rb") as f:
        raw = f.read()
    assert page_data(visualize.render(raw))["subgraphs"] == d["subgraphs"]
    loaded = page_data(visualize.render(numlite.load_model(model_path=files["add"])))["subgraphs"][0]
    assert loaded["ops"] == sg["ops"] and loaded["plan"] == sg["plan"]


def test_model_without_ops():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    mb.output(x)
    text = visualize.render(mb.build())
    check_html(text)
    lay = page_data(text)["subgraphs"][0]["layout"]
    assert [n["id"] for n in lay["nodes"]] == ["i0", "x0"] and lay["edges"][0]["to"] == "x0"


def test_layout_of_700_ops(files):
    m = numlite.load_model(model_path=files["big"])
    sg = m.subgraphs[0]
    assert len(sg.operators) == 700
    t0 = time.perf_counter()
    lay = visualize.layout_subgraph(sg)
    assert time.perf_counter() - t0 < 5
    nodes = {n["id"]: n for n in lay["nodes"]}
    assert len(nodes) == len(lay["nodes"])  # ids are unique
    assert sum(n["kind"] == "op" for n in lay["nodes"]) == 700
    assert {"i0", "o699", f"x{sg.outputs[0]}"} <= set(nodes)
    for e in lay["edges"]:  # every edge goes down, from its source's bottom to its target's top
        a, b = nodes[e["from"]], nodes[e["to"]]
        assert b["y"] > a["y"]
        assert e["pts"][1] == pytest.approx(a["y"] + a["h"]) and e["pts"][-1] == pytest.approx(b["y"])
    rows: dict[float, list] = {}
    for n in lay["nodes"]:
        rows.setdefault(n["y"] + n["h"] / 2, []).append((n["x"], n["x"] + n["w"]))
    for spans in rows.values():  # no two boxes of one layer overlap
        spans.sort()
        assert all(s[1] <= t[0] + 1e-6 for s, t in zip(spans, spans[1:]))
    assert lay["crossings"] == 0 and lay["layers"] > 500


def test_multi_subgraph_model():
    text = visualize.render(LSTM_WHILE)
    check_html(text)
    d = page_data(text)
    assert len(d["subgraphs"]) == 3
    assert text.count('<option value="') == 3 and 'data-sg="2"' in text
    (w,) = [o for o in d["subgraphs"][0]["ops"] if o["type"] == "WHILE"]
    assert w["calls"] == [1, 2] and w["opts"] == {"cond_subgraph_index": 1, "body_subgraph_index": 2}
    for sg in d["subgraphs"]:  # numlite prepared every subgraph: its own plans
        assert sg["plan"]["source"] == "numlite", sg["index"]
        assert len(sg["layout"]["nodes"]) >= len(sg["ops"])
        for b in sg["plan"]["buffers"]:
            assert 0 <= b[5] <= b[6] < len(sg["plan"]["steps"])
            assert b[3] + b[4] <= sg["plan"]["arena_bytes"]


def test_quantized_model(files):
    text = visualize.render(files["quant"])
    check_html(text)
    d = page_data(text)
    sg = d["subgraphs"][0]
    assert sg["tensors"][0][6] == "scale=0.05 zero_point=-3"
    assert sg["tensors"][1][6].startswith("per-channel axis 0: 3 scales [0.01, 0.02, 0.03]")
    assert sg["quant"]["1"]["count"] == 3 and sg["quant"]["3"]["zero_points"] == [2]
    assert sg["ops"][0]["opts"]["padding"] == "SAME"
    assert sg["ops"][0]["opts"]["fused_activation_function"] == "RELU6"
    assert "scale=0.1 zero_point=2" in text


def test_custom_ops_numlite_lacks(files):
    with pytest.raises(numlite.UnsupportedOpError):
        numlite.Interpreter(model_path=files["custom"])
    text = visualize.render(files["custom"])
    check_html(text)
    sg = page_data(text)["subgraphs"][0]
    a, b, _ = sg["ops"]
    assert a["type"] == "NoSuchOp" and a["custom"] == {"format": "flexbuffers", "bytes": a["custom"]["bytes"],
                                                       "value": {"alpha": 0.5, "k": [1, 2], "mode": "fast"}}
    assert b["custom"] == {"format": "hex", "bytes": 4, "value": "de ad be ef"}
    plan = sg["plan"]
    assert plan["source"] == "estimate" and "NoSuchOp v1, RawOp v1" in plan["note"]
    assert {x[2] for x in plan["buffers"]} == {"x", "h", "y", "z"}


def test_estimate_matches_numlite_on_simple_graphs(tmp_path):
    # the estimate knows nothing of fusion: a graph where nothing fuses (the sum is read twice)
    mb = ModelBuilder()
    a = mb.input("a", (2, 3), np.float32)
    b = mb.input("b", (2, 3), np.float32)
    s = mb.tensor("sum", (2, 3), np.float32)
    y = mb.tensor("out", (2, 3), np.float32)
    mb.op("ADD", [a, b], [s])
    mb.op("MUL", [s, s], [y], fused_activation_function="RELU")
    mb.output(y)
    path = tmp_path / "add_twice.tflite"
    path.write_bytes(mb.build())
    m = numlite.load_model(model_path=str(path))
    est = visualize.estimate_plan(m.subgraphs[0])
    real = page_data(visualize.render(str(path)))["subgraphs"][0]["plan"]
    assert est["arena_bytes"] == real["arena_bytes"] and est["lower_bound_bytes"] == real["lower_bound_bytes"]
    assert sorted((b[1], b[5], b[6]) for b in est["buffers"]) == sorted((b[1], b[5], b[6]) for b in real["buffers"])


# -- the command -------------------------------------------------------------------------------
def test_command_text_and_json(files, tmp_path, capsys):
    out = tmp_path / "m.html"
    assert run_cli(["visualize", LSTM_WHILE, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "subgraph 2 'sequential_1/lstm_1/while_body': 19 ops" in text
    assert "numlite plan" in text
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert run_cli(["visualize", files["custom"], "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["output"] == str(out) and doc["html_bytes"] == len(out.read_bytes())
    (sg,) = doc["subgraphs"]
    assert sg["ops"] == 3 and sg["plan"]["source"] == "estimate" and "NoSuchOp" in sg["plan_note"]


def test_help_has_examples_and_exit_codes(capsys):
    ap = argparse.ArgumentParser(prog="numlite")
    sub = ap.add_subparsers()
    visualize.add_parser(sub)
    with pytest.raises(SystemExit):
        ap.parse_args(["visualize", "--help"])
    text = capsys.readouterr().out
    assert text.count("numlite visualize ") >= 3 and "exit codes:" in text and "6  an optional dependency" in text


@pytest.mark.parametrize("case", ["missing", "directory", "truncated", "not_tflite", "empty", "out_dir_missing",
                                  "out_is_dir"])
def test_errors_are_one_line(case, files, tmp_path, capsys):
    model, out, code = files["add"], str(tmp_path / "o.html"), 3
    if case == "missing":
        model = str(tmp_path / "nope.tflite")
    elif case == "directory":
        model = str(tmp_path)
    elif case in ("truncated", "not_tflite", "empty"):
        with open(files["add"], "rb") as f:
            raw = f.read()
        model = str(tmp_path / "bad.tflite")
        with open(model, "wb") as f:
            f.write({"truncated": raw[: len(raw) // 2], "not_tflite": b"hello, this is not a model" * 10,
                     "empty": b""}[case])
    elif case == "out_dir_missing":
        out, code = str(tmp_path / "no" / "o.html"), 2
    elif case == "out_is_dir":
        out, code = str(tmp_path), 2
    assert run_cli(["visualize", model, "-o", out]) == code
    err = capsys.readouterr().err
    assert err.startswith("numlite visualize: error: ") and err.count("\n") == 1 and "Traceback" not in err
    if code == 3:
        assert not os.path.exists(out)


def test_output_is_required(capsys, files):
    with pytest.raises(SystemExit) as e:
        run_cli(["visualize", files["add"]])
    assert e.value.code == 2 and "-o" in capsys.readouterr().err


# -- in a real browser -------------------------------------------------------------------------
def chromium() -> str:
    for name in (os.environ.get("NUMLITE_CHROMIUM") or "", "chromium", "chromium-browser", "google-chrome",
                 "google-chrome-stable", "chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium binary found (apt-get install chromium, or set NUMLITE_CHROMIUM)")


def browser(*args: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900", *args],
                           capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def pages(files, tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    out = {}
    for name, path in (("lstm", LSTM_WHILE), ("big", files["big"]), ("custom", files["custom"])):
        p = d / f"{name}.html"
        p.write_text(visualize.render(path), encoding="utf-8")
        out[name] = p.as_uri()
    return out


def test_browser_draws_and_selects_from_hash(pages):
    dom = browser("--virtual-time-budget=3000", "--dump-dom", pages["lstm"] + "#subgraph=2&select=op:3")
    d = visualize.model_data(LSTM_WHILE)["subgraphs"][2]
    graph = re.search(r'<svg id="graph".*?</svg>', dom, re.S).group(0)
    assert graph.count('class="n op') == len(d["ops"]) == 19  # the drawing is there
    assert len(re.findall(r'<path class="e( sel)?"', graph)) == len(d["layout"]["edges"])
    assert graph.count('class="n op sel"') == 1
    title = re.search(r'<h3 id="panel-title">(.*?)</h3>', dom).group(1)
    assert title.startswith(f"#3 {d['ops'][3]['type']}")
    assert "OPTIONS (" in dom.upper() and "fused_activation_function" in dom
    assert re.search(r'data-drawn-ms="[\d.]+"', dom)
    plan = re.search(r'<svg id="plan".*?</svg>', dom, re.S).group(0)
    assert len(re.findall(r'<rect class="b', plan)) == len(d["plan"]["buffers"])  # the memory plan
    # a tensor, through the hash too
    dom = browser("--virtual-time-budget=3000", "--dump-dom", pages["lstm"] + "#select=tensor:12")
    assert re.search(r'<h3 id="panel-title">T#12 ', dom) and "written by" in dom


def test_browser_custom_op_panel(pages):
    dom = browser("--virtual-time-budget=3000", "--dump-dom", pages["custom"] + "#select=op:0")
    assert '<h3 id="panel-title">#0 NoSuchOp' in dom
    assert "custom options (flexbuffers" in dom and "fast" in dom


def test_browser_700_ops_loads_and_screenshot(pages, tmp_path):
    image_mod = pytest.importorskip("PIL.Image")
    dom = browser("--virtual-time-budget=5000", "--dump-dom", pages["big"] + "#select=op:350")
    assert len(re.findall(r'<g class="n op', dom)) == 700 and '<h3 id="panel-title">#350 ADD' in dom
    shot = tmp_path / "shot.png"
    browser("--virtual-time-budget=5000", f"--screenshot={shot}", pages["big"] + "#select=op:350")
    img = np.asarray(image_mod.open(shot).convert("L"), np.float32)
    assert img.shape[0] >= 800 and img.std() > 20  # not blank
    assert len(np.unique(img)) > 30


class DevTools:
    """Chromium driven over ``--remote-debugging-pipe`` (the DevTools protocol on fds 3 and 4:
    NUL-terminated JSON), for real mouse events."""

    def __init__(self, url: str):
        self.profile = tempfile.mkdtemp()
        r_child, self.w = os.pipe()
        self.r, w_child = os.pipe()

        def fds():
            a, b = os.dup(r_child), os.dup(w_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--user-data-dir={self.profile}", "--window-size=1280,900", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r_child)
        os.close(w_child)
        self.n, self.buf, self.events = 0, b"", []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait("Page.loadEventFired")

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            if not select.select([self.r], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 30) -> dict:
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for k, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(k)
            self.events.append(self._read(deadline))

    def js(self, expr: str):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                      session=True)
        return r["result"].get("value")

    def mouse(self, kind: str, x: float, y: float, **kw) -> None:
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **kw}, session=True)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.r)
        os.close(self.w)
        shutil.rmtree(self.profile, ignore_errors=True)


def test_browser_real_click_drag_and_wheel(pages):
    dt = DevTools(pages["big"])
    try:
        root = "document.querySelector('#graph g.root').getAttribute('transform')"
        # click on the box of op 4 (where the page drew it)
        box = dt.js("(function(){var g=document.querySelector('#graph g.n.op[data-n=\"4\"] rect');"
                    "var r=g.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2];})()")
        dt.mouse("mousePressed", *box, button="left", clickCount=1)
        dt.mouse("mouseReleased", *box, button="left", clickCount=1)
        assert dt.js("document.getElementById('panel-title').textContent").startswith("#4 ")
        assert dt.js("location.hash") == "#subgraph=0&select=op:4"
        # drag pans: the one transform moves by the drag
        before = dt.js(root)
        dt.mouse("mousePressed", 200, 300, button="left", clickCount=1)
        for k in range(1, 11):
            dt.mouse("mouseMoved", 200 + 10 * k, 300 + 20 * k, button="left")
        dt.mouse("mouseReleased", 300, 500, button="left", clickCount=1)
        after = dt.js(root)
        tx0, ty0, k0 = map(float, re.findall(r"[-\d.]+", before))
        tx1, ty1, k1 = map(float, re.findall(r"[-\d.]+", after))
        assert (tx1 - tx0, ty1 - ty0, k1) == (pytest.approx(100, abs=1), pytest.approx(200, abs=1), k0)
        # the drag did not select anything else
        assert dt.js("document.getElementById('panel-title').textContent").startswith("#4 ")
        # wheel zooms out around the cursor; far out, labels are hidden
        for _ in range(12):
            dt.mouse("mouseWheel", 400, 300, deltaX=0, deltaY=200)
        k2 = float(re.findall(r"[-\d.]+", dt.js(root))[2])
        assert k2 < k1 / 10
        assert dt.js("document.getElementById('graph').classList.contains('far')") is True
        # search highlights and counts
        dt.js("(function(){var s=document.getElementById('search');s.value='conv';"
              "s.dispatchEvent(new KeyboardEvent('keydown',{key:'Enter'}));})()")
        n_conv = dt.js("document.querySelectorAll('#graph g.n.hit').length")
        assert n_conv == dt.js("JSON.parse(document.getElementById('numlite-data').textContent)"
                               ".subgraphs[0].ops.filter(function(o){return o.type==='CONV_2D'}).length") > 100
        assert dt.js("document.getElementById('search-status').textContent").startswith("1/")
    finally:
        dt.close()
