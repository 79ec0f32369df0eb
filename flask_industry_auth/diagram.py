"""The lifecycle as an SVG picture, for ``flask industry-auth states --format svg`` and the
admin blueprint.

No drawing library is needed for a graph this small: Graphviz and mermaid-cli would each add a
program outside Python to every portal's machines. States go in columns by their distance from
the initial state; transitions between two states share one arrow with their events as its
label; an arrow that goes back bends below, one within a column bends to the right, one that
stays is a loop. A transition from every state (``delete``) is drawn once, from "any state".
"""

from __future__ import annotations

from collections import defaultdict, deque

from markupsafe import escape

#: The lifecycle's source meaning every state (``lifecycle.ANY``); the lifecycle imports
#: this module, so the value is repeated rather than imported back.
ANY = "*"

BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN, CHAR = 34, 150, 48, 30, 7.4


def _edges(lifecycle) -> list[tuple[str, str, str]]:
    """(source, destination, event), with one edge from ANY for a transition from "*"."""
    edges = []
    for t in lifecycle.transitions:
        sources = [ANY] if ANY in t.sources else [s for s in t.sources if s in lifecycle.states]
        edges += [(source, t.dest, t.trigger) for source in sources]
    return edges


def _ranks(lifecycle) -> dict[str, int]:
    # Breadth-first from the initial state; states it never reaches come after the rest, and
    # the destinations of "*" transitions (with "any state") last of all.
    edges = defaultdict(list)
    for source, dest, _ in _edges(lifecycle):
        if source != ANY:
            edges[source].append(dest)
    ends = {dest for source, dest, _ in _edges(lifecycle) if source == ANY}
    rank = {lifecycle.initial: 0}
    queue = deque([lifecycle.initial])
    while queue:
        state = queue.popleft()
        for dest in edges[state]:
            if dest not in rank and dest not in ends:
                rank[dest] = rank[state] + 1
                queue.append(dest)
    last = max(rank.values()) + 1
    for state in lifecycle.states:
        if state not in ends:
            rank.setdefault(state, last)
    last = max(rank.values()) + 1
    if ends:
        rank[ANY] = last
        for state in ends:
            rank[state] = last + 1
    return rank


def lifecycle_svg(lifecycle) -> str:
    """An SVG document showing every state and transition of ``lifecycle``."""
    ranks = _ranks(lifecycle)
    columns: dict[int, list[str]] = defaultdict(list)
    for state in ranks:
        columns[ranks[state]].append(state)
    names = {**{s: s for s in lifecycle.states}, ANY: "any state"}
    width_of = {s: max(90, int(len(names[s]) * CHAR) + 24) for s in ranks}
    column_width = {r: max(width_of[s] for s in states) for r, states in columns.items()}
    x_of, y_of, x = {}, {}, MARGIN
    for rank in sorted(columns):
        for row, state in enumerate(columns[rank]):
            x_of[state] = x + (column_width[rank] - width_of[state]) / 2
            y_of[state] = MARGIN + 40 + row * (BOX_HEIGHT + ROW_GAP)
        x += column_width[rank] + COLUMN_GAP
    width = x - COLUMN_GAP + MARGIN
    height = max(y_of.values()) + BOX_HEIGHT + MARGIN + 40

    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source, dest, event in _edges(lifecycle):
        if event not in labels[(source, dest)]:
            labels[(source, dest)].append(event)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" font-family="sans-serif" '
        'font-size="13">',
        "<title>Account lifecycle</title>",
        '<defs><marker id="ia-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#333"/></marker></defs>',
    ]
    for (source, dest), events in labels.items():
        parts.append(_arrow(source, dest, ", ".join(events), x_of, y_of, width_of, ranks))
    for state in ranks:
        spec = lifecycle.states.get(state)
        style = ' stroke-dasharray="5,4"' if spec is None else ""
        if state == lifecycle.initial:
            style = ' stroke-width="3"'
        fill = "#e8f4e8" if spec is not None and spec.can_log_in else "#f4f4f4"
        parts.append(
            f'<g class="ia-state" data-state="{escape(state)}">'
            f"<title>{escape((spec.description if spec else '') or names[state])}</title>"
            f'<rect x="{x_of[state]:.0f}" y="{y_of[state]:.0f}" width="{width_of[state]}" '
            f'height="{BOX_HEIGHT}" rx="8" fill="{fill}" stroke="#333"{style}/>'
            f'<text x="{x_of[state] + width_of[state] / 2:.0f}" '
            f'y="{y_of[state] + BOX_HEIGHT / 2 + 5:.0f}" text-anchor="middle">'
            f"{escape(names[state])}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _arrow(source, dest, label, x_of, y_of, width_of, ranks) -> str:
    text = escape(label)
    if source == dest:  # a loop above the box
        cx, top = x_of[source] + width_of[source] / 2, y_of[source]
        path = _curve((cx - 12, top), (cx - 30, top - 34), (cx + 30, top - 34), (cx + 12, top))
        lx, ly = cx, top - 30
    else:
        forward = ranks[dest] > ranks[source]
        sx = x_of[source] + (width_of[source] if forward else 0)
        dx = x_of[dest] + (0 if forward else width_of[dest])
        sy, dy = y_of[source] + BOX_HEIGHT / 2, y_of[dest] + BOX_HEIGHT / 2
        if forward:
            path = f"M{sx:.0f},{sy:.0f} L{dx:.0f},{dy:.0f}"
            lx, ly = (sx + dx) / 2, (sy + dy) / 2 - 6
        elif ranks[dest] == ranks[source]:  # within a column: bend out to the right
            sx, dx = x_of[source] + width_of[source], x_of[dest] + width_of[dest]
            bulge = max(sx, dx) + 40 + abs(sy - dy) * 0.15
            path = _curve((sx, sy), (bulge, sy), (bulge, dy), (dx, dy))
            lx, ly = bulge - 4, (sy + dy) / 2 + 4
        else:  # back or sideways: bend below both boxes
            sx, dx = x_of[source] + width_of[source] / 2, x_of[dest] + width_of[dest] / 2
            sy, dy = y_of[source] + BOX_HEIGHT, y_of[dest] + BOX_HEIGHT
            bottom = max(sy, dy) + 28 + abs(sx - dx) * 0.08
            path = _curve((sx, sy), (sx, bottom), (dx, bottom), (dx, dy))
            lx, ly = (sx + dx) / 2, bottom - 2
    return (
        f'<g class="ia-transition" data-events="{text}"><path d="{path}" fill="none" '
        f'stroke="#333" marker-end="url(#ia-arrow)"/><text x="{lx:.0f}" y="{ly:.0f}" '
        f'text-anchor="middle" font-size="11" fill="#222">{text}</text></g>'
    )


def _curve(start, control1, control2, end) -> str:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = start, control1, control2, end
    return f"M{x0:.0f},{y0:.0f} C{x1:.0f},{y1:.0f} {x2:.0f},{y2:.0f} {x3:.0f},{y3:.0f}"
