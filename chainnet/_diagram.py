"""Network diagrams without graphviz: one layered layout, drawn as SVG here and as a
matplotlib figure by :func:`chainnet.plot.network`.

A diagram has a box per step (its name, method and output shape) and an arrow per input
edge. Steps sit in rows by depth (each step one row below its deepest input); an edge that
skips rows runs through reserved gaps in the rows it crosses, so it never passes through a
box. Within a row, steps are ordered to reduce crossings (barycenter sweeps) and placed as
close to the middle of their inputs and outputs as the row's spacing allows (an isotonic
regression). A step that is a Keras model (a template, a model given to ``apply_layer``) is
one box, or with ``expand=True`` its inner layers, read from the model's own graph through
public Keras API (``get_config`` and ``get_layer``; ``layers`` for a Sequential), named by
their paths (``"backbone/conv1"``).

Text is set in a monospace font, so box widths follow from the number of characters.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from typing import Any

import keras

from chainnet._node import Node
from chainnet._summary import summary_rows

__all__ = [
    "FONT_FAMILY",
    "Box",
    "Edge",
    "Layout",
    "box_colors",
    "diagram_svg",
    "layout",
    "repr_html",
]

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"
NAME_SIZE = 12.0  # px: the step's name, bold
TEXT_SIZE = 11.0  # px: its method and shape
CHAR_WIDTH = 0.6  # of the font size: the advance of a monospace character
LINE_HEIGHT = 1.35  # of the font size
PAD_X, PAD_Y = 10.0, 7.0
MIN_WIDTH = 90.0
GAP_X, GAP_Y = 24.0, 42.0  # between boxes in a row, between rows
DUMMY_WIDTH = 8.0  # the lane an edge takes through a row it crosses
LANE_WEIGHT = 0.05  # how hard a lane pulls on the boxes it joins, against 1 for a box
MARGIN = 12.0
HTML_DIAGRAM_LIMIT = 60
_ALIGN = (
    "",
    "",
    "",
    " style='text-align:right'",
)  # boxes: a larger diagram is left out of the notebook view

_COLORS = {  # kind -> (fill, stroke)
    "input": ("#e3f2e1", "#4c8c4a"),
    "step": ("#e6eef8", "#4a6fa5"),
    "model": ("#fbe9d0", "#b7791f"),
    "layer": ("#f6f3d8", "#8d8741"),
}


@dataclasses.dataclass
class Box:
    """One box: a step, or an inner layer of an expanded model. ``x, y`` is its top left."""

    key: str
    name: str
    method: str
    shape: str
    kind: str  # "input", "step", "model" (collapsed) or "layer" (inside an expanded model)
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0

    @property
    def lines(self) -> tuple[tuple[str, float, bool], ...]:
        """``(text, font size, bold)`` of each line, top to bottom."""
        return (
            (self.name, NAME_SIZE, True),
            (self.method, TEXT_SIZE, False),
            (self.shape, TEXT_SIZE, False),
        )

    def line_positions(self) -> Iterator[tuple[str, float, bool, float]]:
        """``(text, size, bold, baseline-centre y)`` of each line: the y of its middle."""
        y = self.y + PAD_Y
        for text, size, bold in self.lines:
            height = size * LINE_HEIGHT
            yield text, size, bold, y + height / 2
            y += height


@dataclasses.dataclass
class Edge:
    """An arrow from ``source`` to ``target`` (box keys): a ``start`` point, then
    ``segments``, each ``("L", (x, y))`` or ``("C", (x1, y1, x2, y2, x, y))``; it ends at the
    target's top edge, where the arrowhead goes."""

    source: str
    target: str
    start: tuple[float, float] = (0.0, 0.0)
    segments: list[tuple[str, tuple[float, ...]]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Layout:
    """Boxes and edges placed in a ``width`` x ``height`` canvas (y grows downwards)."""

    boxes: list[Box]
    edges: list[Edge]
    width: float
    height: float


def box_colors(kind: str) -> tuple[str, str]:
    """``(fill, stroke)`` colours of a box of ``kind``."""
    return _COLORS[kind]


# --------------------------------------------------------------------- the graph
def _shape_of(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is None:
        return "?"
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return str(tuple(None if d is None else int(d) for d in dims)).replace(",)", ")")


def _layer_shape(layer: keras.layers.Layer) -> str:
    try:
        output = layer.output  # a layer applied once; a shared one has no single output
    except (AttributeError, ValueError):
        return "?"
    if isinstance(output, (list, tuple)):
        return " ".join(_shape_of(o) for o in output)
    return _shape_of(output)


def _history_refs(value: Any) -> Iterator[tuple[str, int]]:
    """``(layer name, tensor index)`` of every tensor in a serialized call's arguments."""
    if isinstance(value, dict):
        history = value.get("config", {}).get("keras_history") if "config" in value else None
        if isinstance(history, (list, tuple)) and len(history) == 3:
            yield str(history[0]), int(history[2])
            return
        for item in value.values():
            yield from _history_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _history_refs(item)


def _layer_refs(value: Any) -> list[tuple[str, int]]:
    """``input_layers``/``output_layers`` of a functional config as ``(name, tensor index)``."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        return [(str(value[0]), int(value[2]))]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _layer_refs(item)]
    return [ref for item in value or () for ref in _layer_refs(item)]


@dataclasses.dataclass
class _Inner:
    """A model's inner graph: its layers in graph order with the ``(layer, tensor index)``
    each one's first call takes, and its input and output layers."""

    layers: list[tuple[str, list[tuple[str, int]]]]
    inputs: list[str]
    outputs: list[tuple[str, int]]


def _inner_graph(model: Any) -> _Inner | None:
    """The inner graph of a functional or Sequential model; ``None`` for a model with none
    (a subclassed model) or for anything else."""
    if not isinstance(model, keras.Model):
        return None
    if isinstance(model, keras.Sequential):
        names = [layer.name for layer in model.layers]
        if not names:
            return None
        links = [(name, [(prev, 0)]) for prev, name in zip(["\0input", *names], names)]
        return _Inner(links, ["\0input"], [(names[-1], 0)])
    try:
        config = model.get_config()
    except Exception:  # noqa: BLE001 - a model that cannot describe itself has no inner graph
        return None
    if not isinstance(config, dict) or "layers" not in config or "input_layers" not in config:
        return None
    links = []
    for layer in config["layers"]:
        calls = layer.get("inbound_nodes") or []
        links.append((str(layer["name"]), list(_history_refs(calls[0])) if calls else []))
    inputs = [name for name, _ in _layer_refs(config["input_layers"])]
    return _Inner(links, inputs, _layer_refs(config["output_layers"]))


class _Builder:
    """Boxes and edges of a network's steps, expanding models if asked."""

    def __init__(self, expand: bool) -> None:
        self.expand = expand
        self.boxes: dict[str, Box] = {}
        self.edges: dict[tuple[str, str], None] = {}

    def box(self, key: str, method: str, shape: str, kind: str) -> str:
        self.boxes[key] = Box(key, key, method, shape, kind)
        return key

    def link(self, sources: Sequence[str | None], target: str) -> None:
        for source in sources:
            if source is not None and source != target:
                self.edges[(source, target)] = None

    def node(self, node: Node, exits: dict[str, str | None]) -> None:
        sources = [exits.get(name) for name in node.parents]
        model = node.layers[0] if len(node.layers) == 1 else None
        inner = _inner_graph(model) if self.expand else None
        if inner is not None:
            outs = self.model(model, inner, node.name, sources)
            exits[node.name] = outs[0] if outs else None
            return
        models = [layer for layer in node.layers if isinstance(layer, keras.Model)]
        method = node.method
        if models:
            count = sum(
                not isinstance(layer, keras.layers.InputLayer) for m in models for layer in m.layers
            )
            method = f"{method} ({count} layers)"
        kind = "input" if not node.parents else "model" if models else "step"
        exits[node.name] = self.box(node.name, method, _shape_of(node.output), kind)
        self.link(sources, node.name)

    def model(
        self, model: Any, inner: _Inner, prefix: str, sources: Sequence[str | None]
    ) -> list[str | None]:
        """Adds a model's inner layers (``prefix/name``); returns the boxes of its outputs."""
        made: dict[str, list[str | None]] = {
            name: [sources[i] if i < len(sources) else None] for i, name in enumerate(inner.inputs)
        }

        def made_by(ref: str, index: int) -> str | None:
            outs = made.get(ref, [None])
            return outs[min(index, len(outs) - 1)]

        for name, refs in inner.layers:
            if name in made:
                continue
            layer = model.get_layer(name)
            ins = [made_by(ref, index) for ref, index in refs]
            nested = _inner_graph(layer)
            if nested is not None:
                made[name] = self.model(layer, nested, f"{prefix}/{name}", ins)
                continue
            key = self.box(f"{prefix}/{name}", type(layer).__name__, _layer_shape(layer), "layer")
            self.link(ins, key)
            made[name] = [key]
        return [made_by(ref, index) for ref, index in inner.outputs]


# --------------------------------------------------------------------- the layout
def _ranks(
    keys: list[str], preds: dict[str, list[str]], succs: dict[str, list[str]]
) -> dict[str, int]:
    """Each box's row: one below its deepest input; a source sits just above its first use."""
    rank: dict[str, int] = {}
    for key in keys:  # boxes come in graph order: inputs before their uses
        rank[key] = max((rank[p] + 1 for p in preds[key]), default=0)
    for key in reversed(keys):
        if not preds[key] and succs[key]:
            rank[key] = min(rank[s] for s in succs[key]) - 1
    return rank


def _crossings(upper: list[str], lower: list[str], succs: dict[str, list[str]]) -> int:
    pos = {key: i for i, key in enumerate(lower)}
    pairs = [(i, pos[s]) for i, key in enumerate(upper) for s in succs[key] if s in pos]
    return sum(1 for a, b in pairs for c, d in pairs if a < c and b > d)


def _order(
    rows: list[list[str]], preds: dict[str, list[str]], succs: dict[str, list[str]]
) -> list[list[str]]:
    """Rows reordered by barycenter sweeps, keeping the order with the fewest crossings."""

    def total(rs: list[list[str]]) -> int:
        return sum(_crossings(a, b, succs) for a, b in itertools.pairwise(rs))

    best, best_count = [list(r) for r in rows], total(rows)
    current = [list(r) for r in rows]
    for sweep in range(8):
        down = sweep % 2 == 0
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for r in indices:
            neighbour = current[r - 1] if down else current[r + 1]
            pos = {key: i for i, key in enumerate(neighbour)}
            links = preds if down else succs

            def key_of(
                item: tuple[int, str],
                pos: dict[str, int] = pos,
                links: dict[str, list[str]] = links,
            ) -> tuple[float, int]:
                index, key = item
                near = [pos[k] for k in links[key] if k in pos]
                return (sum(near) / len(near) if near else float(index), index)

            current[r] = [key for _, key in sorted(enumerate(current[r]), key=key_of)]
        count = total(current)
        if count < best_count:
            best, best_count = [list(r) for r in current], count
    return best


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """The non-decreasing sequence closest to ``values`` in weighted least squares (PAVA)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for value, weight in zip(values, weights):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, w2, n2 = blocks.pop()
            mean1, w1, n1 = blocks.pop()
            blocks.append([(mean1 * w1 + mean2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return [mean for mean, _, count in blocks for _ in range(int(count))]


def _place_row(
    row: list[str], desired: dict[str, float], width: dict[str, float], weight: dict[str, float]
) -> dict[str, float]:
    """Centres for a row's boxes, in order, at least ``GAP_X`` apart, nearest ``desired``."""
    offsets = [0.0]
    for a, b in itertools.pairwise(row):
        offsets.append(offsets[-1] + (width[a] + width[b]) / 2 + GAP_X)
    fitted = _isotonic([desired[k] - o for k, o in zip(row, offsets)], [weight[k] for k in row])
    return {k: f + o for k, f, o in zip(row, fitted, offsets)}


def _xs(
    rows: list[list[str]],
    preds: dict[str, list[str]],
    succs: dict[str, list[str]],
    width: dict[str, float],
    weight: dict[str, float],
) -> dict[str, float]:
    x: dict[str, float] = {}
    for row in rows:
        x.update(_place_row(row, dict.fromkeys(row, 0.0), width, weight))

    def mean(keys: list[str], default: float) -> float:
        """The weighted mean position of ``keys``: a box pulls harder than an edge's lane."""
        total = sum(weight[k] for k in keys)
        return sum(x[k] * weight[k] for k in keys) / total if keys else default

    for sweep in range(9):  # down, up, ..., down: an input's step ends up below it
        down = sweep % 2 == 0
        ordered = rows[1:] if down else rows[-2::-1]
        for row in ordered:
            links = preds if down else succs
            x.update(_place_row(row, {k: mean(links[k], x[k]) for k in row}, width, weight))
    return x


def _box_size(box: Box) -> tuple[float, float]:
    text = max(len(t) * s * CHAR_WIDTH for t, s, _ in box.lines)
    height = sum(s * LINE_HEIGHT for _, s, _ in box.lines) + 2 * PAD_Y
    return max(MIN_WIDTH, text + 2 * PAD_X), height


def _ports(count: int, centre: float, width: float) -> list[float]:
    """``count`` attachment points along a box side, spread around its centre."""
    if count <= 1:
        return [centre]
    step = min(16.0, (width - 2 * PAD_X) / (count - 1))
    return [centre + (i - (count - 1) / 2) * step for i in range(count)]


def layout(nodes: Sequence[Node], *, expand: bool = False) -> Layout:
    """Places a box for every step of ``nodes`` (in build order) and an arrow for every input.

    ``expand=True`` shows the inner layers of steps that are Keras models (templates, models
    given to ``apply_layer``) instead of one box each.
    """
    builder = _Builder(expand)
    exits: dict[str, str | None] = {}
    for node in nodes:
        builder.node(node, exits)
    boxes = builder.boxes
    keys = list(boxes)
    pairs = list(builder.edges)
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for source, target in pairs:
        preds[target].append(source)
        succs[source].append(target)
    rank = _ranks(keys, preds, succs)
    low = min(rank.values(), default=0)
    rank = {k: r - low for k, r in rank.items()}
    # an edge over several rows gets a lane (a dummy key) in each row it crosses
    chains: dict[tuple[str, str], list[str]] = {}
    all_preds = {k: list(v) for k, v in preds.items()}
    all_succs = {k: list(v) for k, v in succs.items()}
    width = {k: _box_size(b)[0] for k, b in boxes.items()}
    weight = dict.fromkeys(keys, 1.0)
    for source, target in pairs:
        lanes = [f"\0{source}\0{target}\0{r}" for r in range(rank[source] + 1, rank[target])]
        chains[(source, target)] = lanes
        path = [source, *lanes, target]
        for lane, r in zip(lanes, range(rank[source] + 1, rank[target])):
            rank[lane], width[lane], weight[lane] = r, DUMMY_WIDTH, LANE_WEIGHT
        for a, b in itertools.pairwise(path):
            all_succs.setdefault(a, []).append(b)
            all_preds.setdefault(b, []).append(a)
        if lanes:
            all_succs[source].remove(target)
            all_preds[target].remove(source)
    rows: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for key in sorted(rank, key=lambda k: (rank[k], _seq(k, keys))):
        rows[rank[key]].append(key)
    rows = _order(rows, all_preds, all_succs)
    x = _xs(rows, all_preds, all_succs, width, weight)
    row_height = max((_box_size(b)[1] for b in boxes.values()), default=0.0)
    left = min((x[k] - width[k] / 2 for k in x), default=0.0)
    shift = MARGIN - left
    for key, box in boxes.items():
        box.width, box.height = _box_size(box)
        box.x = x[key] + shift - box.width / 2
        box.y = MARGIN + rank[key] * (row_height + GAP_Y) + (row_height - box.height) / 2
    edges = _route(boxes, pairs, chains, {k: x[k] + shift for k in x}, rank, row_height)
    right = max((x[k] + shift + width[k] / 2 for k in x), default=0.0)
    height = MARGIN * 2 + len(rows) * row_height + max(len(rows) - 1, 0) * GAP_Y
    return Layout(list(boxes.values()), edges, right + MARGIN, height)


def _seq(key: str, keys: list[str]) -> tuple[int, int]:
    """The build order of a box, or of a lane's source box (lanes after boxes)."""
    if key.startswith("\0"):
        return keys.index(key.split("\0")[1]), 1
    return keys.index(key), 0


def _route(
    boxes: dict[str, Box],
    pairs: list[tuple[str, str]],
    chains: dict[tuple[str, str], list[str]],
    x: dict[str, float],
    rank: dict[str, int],
    row_height: float,
) -> list[Edge]:
    """Each edge's path: from a port at the source's bottom, down its lanes, into a port at
    the target's top, with vertical tangents at both ends (cubic curves between rows)."""

    def top(r: int) -> float:
        return MARGIN + r * (row_height + GAP_Y)

    first = {pair: (chains[pair] or [pair[1]])[0] for pair in pairs}
    last = {pair: (chains[pair] or [pair[0]])[-1] for pair in pairs}
    out_port: dict[tuple[str, str], float] = {}
    in_port: dict[tuple[str, str], float] = {}
    for key, box in boxes.items():
        leaving = sorted((p for p in pairs if p[0] == key), key=lambda p: x[first[p]])
        for pair, port in zip(leaving, _ports(len(leaving), x[key], box.width)):
            out_port[pair] = port
        arriving = sorted((p for p in pairs if p[1] == key), key=lambda p: x[last[p]])
        for pair, port in zip(arriving, _ports(len(arriving), x[key], box.width)):
            in_port[pair] = port
    edges = []
    for pair in pairs:
        source, target = boxes[pair[0]], boxes[pair[1]]
        points = [(out_port[pair], source.y + source.height)]
        for lane in chains[pair]:
            points += [(x[lane], top(rank[lane])), (x[lane], top(rank[lane]) + row_height)]
        points.append((in_port[pair], target.y))
        edge = Edge(pair[0], pair[1], points[0])
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if abs(x0 - x1) < 0.5:
                edge.segments.append(("L", (x1, y1)))
            else:
                mid = (y1 - y0) / 2
                edge.segments.append(("C", (x0, y0 + mid, x1, y1 - mid, x1, y1)))
        edges.append(edge)
    return edges


# --------------------------------------------------------------------- SVG and HTML
def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def diagram_svg(nodes: Sequence[Node], *, expand: bool = False) -> str:
    """The diagram of ``nodes`` as an SVG document (text)."""
    placed = layout(nodes, expand=expand)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": _fmt(placed.width),
            "height": _fmt(placed.height),
            "viewBox": f"0 0 {_fmt(placed.width)} {_fmt(placed.height)}",
            "font-family": FONT_FAMILY,
            "class": "chainnet-diagram",
        },
    )
    defs = ET.SubElement(svg, "defs")
    marker = ET.SubElement(
        defs,
        "marker",
        {
            "id": "chainnet-arrow",
            "viewBox": "0 0 10 10",
            "refX": "10",
            "refY": "5",
            "markerWidth": "7",
            "markerHeight": "7",
            "markerUnits": "userSpaceOnUse",
            "orient": "auto",
        },
    )
    ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": "#555"})
    for edge in placed.edges:
        group = ET.SubElement(
            svg, "g", {"class": "edge", "data-source": edge.source, "data-target": edge.target}
        )
        ET.SubElement(group, "title").text = f"{edge.source} -> {edge.target}"
        d = [f"M{_fmt(edge.start[0])},{_fmt(edge.start[1])}"]
        d += [f"{kind}{','.join(_fmt(v) for v in values)}" for kind, values in edge.segments]
        ET.SubElement(
            group,
            "path",
            {
                "d": " ".join(d),
                "fill": "none",
                "stroke": "#555",
                "stroke-width": "1.3",
                "marker-end": "url(#chainnet-arrow)",
            },
        )
    for box in placed.boxes:
        fill, stroke = box_colors(box.kind)
        group = ET.SubElement(
            svg, "g", {"class": "box", "data-name": box.key, "data-kind": box.kind}
        )
        ET.SubElement(group, "title").text = f"{box.name}: {box.method}, output {box.shape}"
        ET.SubElement(
            group,
            "rect",
            {
                "x": _fmt(box.x),
                "y": _fmt(box.y),
                "width": _fmt(box.width),
                "height": _fmt(box.height),
                "rx": "5",
                "fill": fill,
                "stroke": stroke,
                "stroke-width": "1.2",
            },
        )
        centre = box.x + box.width / 2
        for text, size, bold, y in box.line_positions():
            attributes = {
                "x": _fmt(centre),
                "y": _fmt(y),
                "font-size": _fmt(size),
                "text-anchor": "middle",
                "dominant-baseline": "central",
                "fill": "#1a1a1a",
            }
            if bold:
                attributes["font-weight"] = "bold"
            ET.SubElement(group, "text", attributes).text = text
    return ET.tostring(svg, encoding="unicode")


def repr_html(nodes: Sequence[Node], title: str) -> str:
    """A notebook view of ``nodes``: the summary table and, beside it, the diagram (unless it
    has more than ``HTML_DIAGRAM_LIMIT`` boxes)."""
    rows, total, trainable = summary_rows(nodes)
    cells = "".join(
        "<tr>"
        + "".join(f"<td{_ALIGN[i]}>{html.escape(cell.strip())}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    table = (
        f"<table class='chainnet-summary'><caption>{html.escape(title)}</caption>"
        "<thead><tr><th>Name</th><th>Method</th><th>Output shape</th><th>Params</th></tr></thead>"
        f"<tbody>{cells}</tbody>"
        f"<tfoot><tr><td colspan='4'>Total params: {total:,} &middot; Trainable: {trainable:,} "
        f"&middot; Non-trainable: {total - trainable:,}</td></tr></tfoot></table>"
    )
    diagram = ""
    if len(nodes) <= HTML_DIAGRAM_LIMIT:
        diagram = f"<div style='overflow:auto;max-height:60em'>{diagram_svg(nodes)}</div>"
    return f"<div style='display:flex;gap:1.5em;align-items:flex-start'>{table}{diagram}</div>"
