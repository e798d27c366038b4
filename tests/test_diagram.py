"""Diagrams: the SVG of chain.diagram() has a box per step (name, method, shape) and an arrow
per input edge, from the source's bottom to the target's top, with no box overlapping
another and no arrow through a box; models and templates collapse or expand; notebooks get
the summary table. The expected boxes and arrows are written out in diagram_nets.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from diagram_nets import DOC_FIGURES, NETS, backbone, parse

import chainnet as cn
from chainnet._diagram import CHAR_WIDTH, layout

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures" / "diagrams"


def numbers(d: str) -> list[tuple[float, float]]:
    values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return list(zip(values[::2], values[1::2]))


CASES = [(name, expand) for name in NETS for expand in (False, True)]


@pytest.mark.parametrize(("name", "expand"), CASES)
def test_a_box_per_step_and_an_arrow_per_edge(name: str, expand: bool) -> None:
    chain, (want_boxes, want_edges) = NETS[name](expand)
    svg = chain.diagram(expand=expand)
    boxes, edges = parse(svg)
    assert set(boxes) == set(want_boxes)
    assert set(edges) == want_edges
    for box, (method, shape) in want_boxes.items():
        assert boxes[box][1] == [box, *boxes[box][1][1:]], box
        assert method in boxes[box][1][1], (box, boxes[box][1])
        assert boxes[box][1][2] == shape, box
    assert chain.network.diagram(expand=expand) == svg  # the same picture, and deterministic


@pytest.mark.parametrize(("name", "expand"), CASES)
def test_boxes_do_not_overlap_and_text_fits(name: str, expand: bool) -> None:
    chain, _ = NETS[name](expand)
    boxes, _ = parse(chain.diagram(expand=expand))
    rects = [rect for rect, _ in boxes.values()]
    for i, (x1, y1, w1, h1) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1 :]:
            apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
            assert apart, f"boxes overlap: {(x1, y1, w1, h1)} and {(x2, y2, w2, h2)}"
    for (_, _, width, _), texts in boxes.values():
        for text in texts:  # bold 12 px at most; monospace advance 0.6 em
            assert len(text) * 12 * CHAR_WIDTH <= width, text


@pytest.mark.parametrize(("name", "expand"), CASES)
def test_arrows_run_from_bottom_to_top_and_around_boxes(name: str, expand: bool) -> None:
    chain, _ = NETS[name](expand)
    boxes, edges = parse(chain.diagram(expand=expand))
    for (source, target), d in edges.items():
        (sx, sy, sw, sh), _ = boxes[source]
        (tx, ty, tw, _), _ = boxes[target]
        points = numbers(d)
        (x0, y0), (x1, y1) = points[0], points[-1]
        assert y0 == pytest.approx(sy + sh, abs=0.1) and sx < x0 < sx + sw, (source, target)
        assert y1 == pytest.approx(ty, abs=0.1) and tx < x1 < tx + tw, (source, target)
    placed = layout(chain.network.nodes, expand=expand)
    for edge in placed.edges:
        for px, py in sampled(edge):
            for box in placed.boxes:
                inside = (
                    box.x + 1 < px < box.x + box.width - 1
                    and box.y + 1 < py < box.y + box.height - 1
                )
                assert not inside, f"arrow {edge.source} -> {edge.target} crosses {box.key}"


def sampled(edge: Any) -> list[tuple[float, float]]:
    """Points along an edge's path (20 per segment)."""
    points = []
    x0, y0 = edge.start
    for kind, values in edge.segments:
        for t in np.linspace(0, 1, 20):
            if kind == "L":
                points.append((x0 + t * (values[0] - x0), y0 + t * (values[1] - y0)))
            else:
                c = [(x0, y0), values[0:2], values[2:4], values[4:6]]
                weights = [(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3]
                points.append(tuple(sum(w * p[i] for w, p in zip(weights, c)) for i in (0, 1)))  # type: ignore[misc]
        x0, y0 = values[-2], values[-1]
    return points


def test_the_residual_block_keeps_its_main_path_straight() -> None:
    """The skip arrow goes around the branch: the branch's boxes stand in one column."""
    chain, _ = NETS["residual"](False)
    boxes, _ = parse(chain.diagram())
    centres = {name: rect[0] + rect[2] / 2 for name, (rect, _) in boxes.items()}
    assert centres["conv_a"] == pytest.approx(centres["conv_b"])
    tops = {name: rect[1] for name, (rect, _) in boxes.items()}
    assert tops["x"] < tops["conv_a"] < tops["conv_b"] < tops["add"] < tops["relu"]


def test_branches_stand_side_by_side() -> None:
    chain, _ = NETS["multi_output"](False)
    boxes, _ = parse(chain.diagram())
    left, right = boxes["split.0"][0], boxes["split.1"][0]
    assert left[1] == right[1] and left[0] + left[2] <= right[0]


def test_a_subclassed_model_is_one_box_even_expanded() -> None:
    class Doubler(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="doubler")
            self.dense = keras.layers.Dense(3, name="inner")

        def call(self, x: Any) -> Any:
            return self.dense(x) * 2.0

    y = cn.input((4,), name="x").apply_layer(Doubler())
    boxes, edges = parse(y.diagram(expand=True))
    assert set(boxes) == {"x", "doubler"} and set(edges) == {("x", "doubler")}


def test_an_eager_network_has_a_diagram() -> None:
    x = cn.wrap(np.ones((2, 4), "float32"), name="data")
    y = x.fully_connected(3, name="fc")
    boxes, edges = parse(y.diagram())
    assert boxes["fc"][1] == ["fc", "fully_connected", "(2, 3)"]
    assert set(edges) == {("data", "fc")}


def test_text_is_escaped() -> None:
    """Names are plain text in the SVG (they may hold '.' or '-'); the XML stays valid."""
    y = cn.input((4,), name="a-b.c").fully_connected(3, name="x.y-z")
    boxes, _ = parse(y.diagram())
    assert set(boxes) == {"a-b.c", "x.y-z"}


def test_repr_html_shows_the_summary_table_and_the_diagram() -> None:
    chain, (want_boxes, _) = NETS["seed_cnn"](False)
    page = chain._repr_html_()
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    for name, (method, shape) in want_boxes.items():
        assert f"<td>{name}</td><td>{method}</td><td>{shape}</td>" in table
    assert f"Total params: {chain.model().count_params():,}" in table
    assert "<svg" in page and page.count('class="box"') == len(want_boxes)
    network_page = chain.network._repr_html_()
    assert "<table" in network_page and "<svg" in network_page


def test_a_chain_s_notebook_view_lists_what_it_depends_on() -> None:
    x = cn.input((4,), name="x")
    a = x.fully_connected(3, name="a")
    x.fully_connected(2, name="b")
    page = a._repr_html_()
    assert "<td>a</td>" in page and "<td>b</td>" not in page
    assert "<td>b</td>" in x.network._repr_html_()


def test_model_step_counts_its_layers_when_collapsed() -> None:
    y = cn.input((4,), name="x").apply_layer(backbone())
    boxes, _ = parse(y.diagram())
    assert boxes["backbone"][1][1] == "apply_layer (4 layers)"  # d1, d2, sum, head


@pytest.mark.parametrize("name", sorted(DOC_FIGURES))
def test_the_docs_show_the_current_diagrams(name: str) -> None:
    """docs/figures/diagrams/<name>.svg is what diagram() draws today (re-render with
    ``python tests/diagram_nets.py docs/figures/diagrams``, which writes the PNGs too)."""
    chain, _ = DOC_FIGURES[name]()
    assert (FIGURES / f"{name}.svg").read_text() == chain.diagram() + "\n"
    assert (FIGURES / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
