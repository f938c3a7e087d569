"""The HTML audit report: its charts, escaping, determinism, no external loads, a real browser."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.audit import AuditOptions, audit_file
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.report.audit import audit_to_dict
from slaengine.report.html import render_html

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples" / "tickets.jsonl"
EXAMPLES_AT = "2025-12-03T16:00:00Z"
GENERATED_AT = "2025-12-01T00:00:00Z"
METRICS = ("first_response", "next_response", "periodic_update", "resolution")
HOSTILE_GROUP = "<script>alert('g')</script>&amp;"
HOSTILE_AGENT = '"><img src=x onerror=alert(1)>'
HOSTILE_CHANNEL = "<b>chat</b>"
POLICY = """\
version: 1
policies:
  - name: <all & every>
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
"""


def _audit(events: Path, at: str, *, tz: str = "Europe/Berlin", source: str | None = None,
           policies: str | Path = REPO_ROOT / "policies") -> dict[str, Any]:  # fmt: skip
    """The audit document of ``events``, as ``slaengine audit --json`` makes it."""
    loaded = slaengine.load_policies(str(policies))
    now = parse_instant(at)
    options = AuditOptions(now=now, zone=tz, period="week")
    audit, batch = audit_file(loaded, events, options)
    return audit_to_dict(audit, batch, source=source or events.name, now=now, by=options.by)


@pytest.fixture(scope="module")
def example_doc() -> dict[str, Any]:
    """The audit of ``examples/tickets.jsonl`` at 2025-12-03 16:00 UTC, in Europe/Berlin."""
    return _audit(EXAMPLES, EXAMPLES_AT)


@pytest.fixture(scope="module")
def generated_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 tickets from ``slaengine generate`` over 60 days."""
    path = tmp_path_factory.mktemp("generated") / "history.jsonl.gz"
    assert main(["generate", "-n", "400", "--days", "60", "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def generated_doc(generated_events: Path) -> dict[str, Any]:
    """The audit of the generated events."""
    return _audit(generated_events, GENERATED_AT)


class _Charts(HTMLParser):
    """Per ``<svg id>``: the marks (elements with class bar, cell or point) and their tooltips."""

    MARKS = ("bar", "cell", "point")

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[str, Counter[str]] = {}
        self.titled: dict[str, Counter[str]] = {}
        self.svg_titles: dict[str, int] = {}
        self.scripts = 0
        self._svg = ""
        self._open: list[str] = []  # inside an svg: the class (or tag) of each open element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        css = dict(attrs).get("class") or ""
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self._svg = dict(attrs).get("id") or ""
            self.marks[self._svg], self.titled[self._svg] = Counter(), Counter()
            self.svg_titles[self._svg] = 0
            self._open = ["svg"]
            return
        if not self._open:
            return
        if css in self.MARKS:
            self.marks[self._svg][css] += 1
        if tag == "title":
            parent = self._open[-1]
            if parent == "svg":
                self.svg_titles[self._svg] += 1
            elif parent in self.MARKS:
                self.titled[self._svg][parent] += 1
        self._open.append(css or tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self._open:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()


def _charts(page: str) -> _Charts:
    parser = _Charts()
    parser.feed(page)
    parser.close()
    return parser


def _expected_marks(doc: dict[str, Any]) -> dict[str, dict[str, int]]:
    """What each chart must draw for ``doc``: settled groups, non-empty buckets, 168 cells;
    its narrow layout (``<id>-narrow``) draws the same."""

    def settled(rows: list[dict[str, Any]]) -> int:
        return sum(1 for r in rows if r["compliance"]["achieved"] + r["compliance"]["breached"])

    expected = {
        "chart-compliance-channel": {"bar": settled(doc["by_channel"])},
        "chart-compliance-priority": {"bar": settled(doc["by_priority"])},
        "chart-heatmap-breaches": {"cell": 168},
        "chart-heatmap-volume": {"cell": 168},
        "chart-trend": {
            "point": len(doc["by_period"])
            + sum(1 for r in doc["by_period"] if r["compliance"]["compliance"] is not None)
        },
        # Created, solved and backlog: three points per period.
        "chart-flow": {"point": 3 * len(doc["flow"])},
    }
    for metric in METRICS:
        buckets = sum(
            1
            for row in doc["by_channel"]
            if metric in row["metrics"]
            for count in row["metrics"][metric]["histogram"]["business"]
            if count
        )
        if buckets:
            expected[f"chart-times-{metric}"] = {"bar": buckets}
    return {**expected, **{f"{chart}-narrow": marks for chart, marks in expected.items()}}


@pytest.mark.parametrize("which", ["example_doc", "generated_doc"])
def test_every_chart_draws_one_mark_per_value(which: str, request: pytest.FixtureRequest) -> None:
    doc = request.getfixturevalue(which)
    charts = _charts(render_html(doc))
    expected = _expected_marks(doc)
    assert {svg: dict(marks) for svg, marks in charts.marks.items()} == expected
    # Every bar, cell and point has its own tooltip; every chart a title for screen readers.
    assert {svg: dict(marks) for svg, marks in charts.titled.items()} == expected
    assert set(charts.svg_titles.values()) == {1}


def test_example_charts_have_the_known_shape(example_doc: dict[str, Any]) -> None:
    marks = _charts(render_html(example_doc)).marks
    # Six channels and four priorities, all with settled clocks; two weeks (W48, W49).
    assert marks["chart-compliance-channel"]["bar"] == 6
    assert marks["chart-compliance-priority"]["bar"] == 4
    assert marks["chart-trend"]["point"] == 4
    assert marks["chart-heatmap-breaches"]["cell"] == 168


def test_generated_report_has_every_metric_and_period(generated_doc: dict[str, Any]) -> None:
    marks = _charts(render_html(generated_doc)).marks
    assert {f"chart-times-{m}" for m in METRICS} <= set(marks)
    assert len(generated_doc["by_period"]) >= 9
    assert marks["chart-trend"]["point"] == 2 * len(generated_doc["by_period"])


def test_page_has_charset_title_kpis_inputs_and_explanations(example_doc: dict[str, Any]) -> None:
    page = render_html(example_doc, policies=["phone", "live-chat"])
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<meta charset="utf-8">' in page
    assert re.search(r"<title>SLA audit at 2025-12-03T16:00:00Z [^<]*tickets\.jsonl</title>", page)
    for text in ("SLA compliance", "First response time, median", "First contact resolution",
                 "Time in new/open", "CSAT", "Response rate", "Reopen rate", "46.7%",
                 "Lines read", "Duplicate events ignored", "Europe/Berlin", "2: phone, live-chat",
                 "Worst offenders"):  # fmt: skip
        assert text in page
    assert page.count("How to read this") == 9


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    events = [
        {"ticket": "<T&1>", "at": "2025-12-01T09:00:00Z", "type": "created",
         "channel": HOSTILE_CHANNEL, "priority": "high", "group": HOSTILE_GROUP},
        {"ticket": "<T&1>", "at": "2025-12-01T11:00:00Z", "type": "message", "author": "agent",
         "agent": HOSTILE_AGENT},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    doc = _audit(path, "2025-12-02T00:00:00Z", source="<evil>&.jsonl", policies=policy)
    assert doc["worst_offenders"]["group"][0]["group"] == HOSTILE_GROUP
    page = render_html(doc, policies=["<all & every>"])
    for raw in (HOSTILE_GROUP, HOSTILE_AGENT, HOSTILE_CHANNEL, "<evil>", "<all & every>"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;g&#x27;)&lt;/script&gt;&amp;amp;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;chat&lt;/b&gt;" in page
    charts = _charts(page)
    assert charts.scripts == 1  # only the page's own
    assert charts.marks["chart-compliance-channel"]["bar"] == 1
    assert "<img" not in page


def _headline_cards(page: str) -> dict[str, tuple[str, str]]:
    """Each headline card's label: (value, detail), as text."""
    section = page[page.index('<section id="kpis">') : page.index("</dl>")]
    return {
        html.unescape(label): (html.unescape(value), html.unescape(detail))
        for label, value, detail in re.findall(
            r"<dt>(.*?)</dt><dd>(.*?)(?:<small>(.*?)</small>)?</dd>", section
        )
    }


def test_headline_cards_say_what_met_the_target_and_what_still_runs(tmp_path: Path) -> None:
    # One chat nobody answered: its first response breached 20 minutes ago and still runs,
    # its resolution runs within target; no customer ids, nothing solved.
    path = tmp_path / "one.jsonl"
    path.write_text(
        '{"ticket": "A-1", "type": "created", "at": "2025-12-01T09:00:00Z", '
        '"channel": "chat", "priority": "normal"}\n',
        encoding="utf-8",
    )
    cards = _headline_cards(render_html(_audit(path, "2025-12-01T09:30:00Z", tz="UTC")))
    assert cards["First response achieved"] == (
        "0.0%",
        "0 of 1 met the target \u00b7 1 breached, still running",
    )
    assert cards["Resolution achieved"] == (
        "\u2013",
        "none met or breached its target yet \u00b7 1 running within target",
    )
    # The ticket count is known even when the customers behind it are not.
    assert cards["Tickets"] == ("1", "customers not measurable: no customer ids in the events")
    assert cards["First response time, median"] == ("\u2013", "none completed yet")
    assert cards["Time in new/open"] == ("\u2013", "no ticket solved yet")
    assert cards["Reopen rate"] == ("\u2013", "no ticket solved yet")


def test_headline_cards_of_the_examples(example_doc: dict[str, Any]) -> None:
    cards = _headline_cards(render_html(example_doc))
    assert cards["Resolution achieved"] == (
        "50.0%",
        "2 of 4 met the target \u00b7 2 breached, still running \u00b7 3 running within target",
    )
    assert cards["Next response achieved"] == ("50.0%", "1 of 2 met the target")
    assert cards["Tickets"] == ("7", "7 customers")
    assert cards["First response time, median"][1] == "p90 4h 15m \u00b7 6 completed"
    assert cards["Time in new/open"][1].startswith("mean of 2 solved tickets \u00b7 median ")
    assert not [detail for _, detail in cards.values() if " clocks" in detail]


def test_an_empty_audit_still_renders(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    doc = _audit(path, EXAMPLES_AT)
    charts = _charts(render_html(doc))
    assert charts.marks["chart-heatmap-breaches"]["cell"] == 168
    assert "chart-compliance-channel" in charts.marks
    assert not any(key.startswith("chart-times-") for key in charts.marks)


def test_same_document_same_bytes(generated_doc: dict[str, Any]) -> None:
    copy = json.loads(json.dumps(generated_doc))
    assert render_html(generated_doc) == render_html(copy)


def test_cli_writes_the_same_report_with_any_number_of_jobs(
    generated_events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(REPO_ROOT)
    pages = []
    for jobs in ("1", "2"):
        out = tmp_path / f"report-{jobs}.html"
        argv = ["audit", "-p", "policies/", "-e", str(generated_events), "--at", GENERATED_AT,
                "--tz", "Europe/Berlin", "--jobs", jobs, "--html", str(out)]  # fmt: skip
        assert main(argv) == 0
        pages.append(out.read_bytes())
    capsys.readouterr()
    assert pages[0] == pages[1]
    assert b"2000-01-01" not in pages[0]
    text = pages[0].decode("utf-8")
    assert "Policies loaded</th><td>6: urgent-any-channel" in text


def test_cli_reports_an_unwritable_html_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    argv = ["audit", "-p", "policies/", "-e", "examples/tickets.jsonl", "--at", EXAMPLES_AT,
            "--html", str(tmp_path / "missing" / "report.html")]  # fmt: skip
    assert main(argv) == 2
    assert "--html: cannot write" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["example_doc", "generated_doc"])
def test_page_loads_nothing_from_outside(which: str, request: pytest.FixtureRequest) -> None:
    page = render_html(request.getfixturevalue(which))
    assert not re.search(r"https?://", page)
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "url(" not in page
    assert "@import" not in page
    assert "<link" not in page
    assert "Content-Security-Policy" in page


# -- phone and print layout: the style rules they rest on ------------------------------------


def _css(page: str) -> dict[str, dict[str, dict[str, str]]]:
    """The page's style rules: per media query ("" at top level), per selector, the declarations."""
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    text = re.sub(r"/\*.*?\*/", "", style.group(1), flags=re.S)
    blocks: dict[str, str] = {}
    while (media := re.search(r"@media ([^{]+)\{", text)) is not None:
        depth, end = 1, media.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        blocks[media.group(1).strip()] = text[media.end() : end - 1]
        text = text[: media.start()] + text[end:]
    blocks[""] = text
    rules: dict[str, dict[str, dict[str, str]]] = {}
    for media, body in blocks.items():
        for selectors, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", body):
            parsed = {
                name.strip(): value.strip()
                for name, _, value in (d.partition(":") for d in declarations.split(";"))
                if value.strip()
            }
            for selector in selectors.split(","):
                rules.setdefault(media, {}).setdefault(" ".join(selector.split()), {}).update(
                    parsed
                )
    return rules


def test_wide_charts_and_tables_scroll_inside_their_own_box(generated_doc: dict[str, Any]) -> None:
    page = render_html(generated_doc)
    screen = _css(page)[""]
    # Each chart and table sits alone in a box that scrolls sideways, so a phone never gets a
    # page wider than its screen (the wide charts keep a min-width to stay legible; a phone
    # shows their narrow layout instead).
    wide = page.count('<div class="chart-wrap wide"><svg class="chart"')
    narrow = page.count('<div class="chart-wrap narrow"><svg class="chart"')
    assert page.count("<svg ") == wide + narrow
    assert wide == narrow >= 9
    assert page.count("<table") == page.count('<div class="table-wrap"><table') >= 6
    for box in (".chart-wrap", ".table-wrap"):
        assert screen[box]["overflow-x"] == "auto"
        assert screen[box]["max-width"] == "100%"
        # The shades that show there is more to swipe to: covers moving with the content.
        assert "local" in screen[box]["background"]
        assert "scroll" in screen[box]["background"]
    assert screen["svg.chart"]["width"] == "100%"
    assert len(re.findall(r'style="min-width:(\d+)px;max-width:(\d+)px"', page)) == wide
    for low, high in re.findall(r'style="min-width:(\d+)px;max-width:(\d+)px"', page):
        assert int(low) < int(high) <= 1000
    # The narrow layouts fit a phone's 390 px less the page's margins.
    narrow_widths = re.findall(r'id="[^"]*-narrow" viewBox="0 0 ([\d.]+) ', page)
    assert len(narrow_widths) == narrow
    assert all(float(width) <= 360 for width in narrow_widths)


def test_kpi_cards_take_two_columns_on_a_phone(example_doc: dict[str, Any]) -> None:
    phone = _css(render_html(example_doc))["(max-width: 30rem)"]
    assert phone[".kpis"]["grid-template-columns"] == "repeat(2, minmax(0, 1fr))"


def test_print_keeps_charts_whole_without_a_page_per_section(example_doc: dict[str, Any]) -> None:
    page = render_html(example_doc)
    printed = _css(page)["print"]
    for whole in (".chart-wrap", "svg.chart", ".kpi", ".howto", "tr"):
        assert printed[whole]["break-inside"] == "avoid", whole
    # A whole section kept on one page pushed most sections to a new page, half of it blank.
    assert "break-inside" not in printed.get("section", {})
    for heading in ("h2", "h3", "caption"):
        assert printed[heading]["break-after"] == "avoid"
    # No ink for panel backgrounds or scroll shades; charts and tables lie flat on paper.
    for box in (".kpi", ".howto", ".chart-wrap", ".table-wrap"):
        assert printed[box]["background"] == "none", box
    assert printed[".chart-wrap"]["overflow"] == "visible"
    # Hover hints are for screens: each sits in a .hover span that print hides.
    assert printed[".hover"]["display"] == "none"
    body = page[page.index("<body>") :]
    hints = re.findall(r'<span class="hover">([^<]*)</span>', body)
    assert len(hints) == 2
    assert all("Hover" in hint for hint in hints)
    assert not re.search(r"\bhover\b", re.sub(r'<span class="hover">[^<]*</span>', "", body), re.I)


# -- in a browser -------------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _browse(tmp_path: Path, page: Path, *options: str) -> str:
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
        *options, page.as_uri(),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish within 240 s")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct colours of an 8-bit RGB or RGBA PNG (no interlace)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0)
            bpp = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                a, b, c = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[x] = (
                    line[x] + (left if a <= b and a <= c else up if b <= c else corner)
                ) & 255
        colours.update(bytes(line[x : x + 3]) for x in range(0, stride, bpp * 4))
        previous = line
    return width, height, colours


# Measures the page as laid out: the charts shown and drawn (the page's own count), text of a
# chart outside its drawing, boxes whose content is wider than they are (cut, or scrolled),
# and the page's own width. Headless Chromium makes no window narrower than 500 px, so the
# page is laid out in a frame of the width asked for (its styles see the frame's width).
_PROBE = """
window.addEventListener('load', function () {
  var doc = document.getElementById('page').contentDocument;
  var out = {shown: [], textCut: [], boxCut: [], pageWidth: doc.documentElement.scrollWidth,
             window: doc.defaultView.innerWidth, drawn: doc.body.dataset.chartsDrawn,
             total: doc.body.dataset.chartsTotal};
  var charts = doc.querySelectorAll('svg.chart');
  for (var i = 0; i < charts.length; i++) {
    var svg = charts[i];
    if (!svg.getClientRects().length) { continue; }
    out.shown.push(svg.id);
    var width = svg.viewBox.baseVal.width, texts = svg.querySelectorAll('text');
    for (var j = 0; j < texts.length; j++) {
      var box = texts[j].getBBox();
      if (box.x < -0.5 || box.x + box.width > width + 0.5) {
        out.textCut.push(svg.id + ': ' + texts[j].textContent);
      }
    }
  }
  var boxes = doc.querySelectorAll('.chart-wrap, .table-wrap');
  for (var k = 0; k < boxes.length; k++) {
    var wrap = boxes[k];
    if (wrap.getClientRects().length && wrap.scrollWidth > wrap.clientWidth + 1) {
      var label = wrap.querySelector('svg, caption');
      out.boxCut.push(label ? (label.id || label.textContent) : 'a box');
    }
  }
  document.body.dataset.probe = JSON.stringify(out);
});
"""


def _framed(text: str, width: int, height: int = 3000) -> str:
    """A page holding ``text`` in a frame ``width`` by ``height`` px, and the probe."""
    return (
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="page" style="border:0;width:{width}px;height:{height}px" '
        f'srcdoc="{html.escape(text, quote=True)}"></iframe>'
        f"<script>{_PROBE}</script></body></html>"
    )


def _probe(tmp_path: Path, text: str, width: int) -> dict[str, Any]:
    """The page laid out ``width`` px wide, measured by :data:`_PROBE`."""
    page = tmp_path / f"probe-{width}.html"
    page.write_text(_framed(text, width), "utf-8")
    dom = _browse(tmp_path, page, "--dump-dom", f"--window-size={max(width, 500) + 40},3100")
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    return json.loads(html.unescape(found.group(1)))


def test_charts_draw_in_chromium(generated_doc: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    text = render_html(generated_doc)
    page.write_text(text, encoding="utf-8")
    charts = _charts(text).marks
    wide = sorted(name for name in charts if not name.endswith("-narrow"))
    for width, shown in ((1280, wide), (390, [f"{name}-narrow" for name in wide])):
        probe = _probe(tmp_path, text, width)
        assert probe["window"] == width
        # Each width shows one layout of every chart, and every chart shown drew: the page's
        # own script counted them.
        assert sorted(probe["shown"]) == sorted(shown)
        assert int(probe["drawn"]) == int(probe["total"]) == len(shown) >= 9, width
        # No chart text (legends, labels, axes) outside its drawing, no box whose content is
        # wider than the box, and a page no wider than the window.
        assert probe["textCut"] == [], (width, probe["textCut"])
        assert probe["boxCut"] == [], (width, probe["boxCut"])
        assert probe["pageWidth"] <= width

    shot = tmp_path / "report.png"
    _browse(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,4000")
    data = shot.read_bytes()
    assert len(data) > 50_000
    width, height, colours = _png_pixels(data)
    assert (width, height) == (1280, 4000)
    assert len(colours) > 50
    # Solid fills of the compliance bars and the histogram, exactly as written in the page.
    assert {bytes.fromhex("0072b2"), bytes.fromhex("d55e00"), bytes.fromhex("56b4e9")} <= colours
    # The same colours in the phone's layout (the frame is 390 px of the 540 px screenshot).
    phone = tmp_path / "phone.html"
    phone.write_text(_framed(text, 390, 6000), "utf-8")
    _browse(tmp_path, phone, f"--screenshot={tmp_path / 'phone.png'}", "--window-size=540,6000")
    width, height, colours = _png_pixels((tmp_path / "phone.png").read_bytes())
    assert (width, height) == (540, 6000)
    assert {bytes.fromhex("0072b2"), bytes.fromhex("d55e00"), bytes.fromhex("56b4e9")} <= colours


def _trend_svg(doc: dict[str, Any]) -> str:
    page = render_html(doc)
    start = page.index('id="chart-trend"')
    return page[start : page.index("</svg>", start)]


def test_the_period_the_audit_instant_falls_in_is_marked_partial(
    example_doc: dict[str, Any], generated_doc: dict[str, Any]
) -> None:
    # The example is audited on Wednesday 2025-12-03: week 49 is not over.
    trend = _trend_svg(example_doc)
    assert ">2025-W49 *<" in trend
    assert ">2025-W48<" in trend
    assert "(* not over at the audit instant: partial week)" in trend
    # The generated history ends before its audit instant's week starts: nothing marked.
    last = generated_doc["by_period"][-1]["key"]["period"]
    assert last < "2025-W49"
    assert " *<" not in _trend_svg(generated_doc)
    assert "not over at the audit instant" not in _trend_svg(generated_doc)


def test_counts_of_one_are_singular(example_doc: dict[str, Any]) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", " ", render_html(example_doc)))
    # Every channel of the example has one ticket: "chat: ...; 1 ticket", never "1 tickets".
    assert "cancelled; 1 ticket " in text
    assert not re.search(r"(?<![\d.,])1 tickets\b", text)
