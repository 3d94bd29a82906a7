"""OCCURS tables as arrays and groups as objects, built from a decoded flat row.

A record keeps its flat columns (``QTY_1``, ``QTY_2``...); :func:`make_nester` adds, after them,
one column per OCCURS table that is not inside another one (``ITEMS``: a list holding only the
counted elements, ``[]`` for none) and one per group outside tables (``SHIP_TO``: a dict).  An
element of a group table is a dict keyed by its fields' columns without the index suffix
(``QTY``), a table inside it an array under its own name (Cobrix test21's arrays in arrays); an
element of an elementary OCCURS is the value itself.  A group's dict holds its fields by column
name, subgroups flattened, its tables by name.  The code is generated once per layout; an ODO
table builds only its counted elements (a count the decoder let through as None or out of
range, in lenient mode, gives [] or the maximum).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.parse import Item, Layout

__all__ = ["dict_source", "nested_columns", "nested_keys", "nested_values", "make_nester"]


def dict_source(members: list[tuple[str, str]]) -> str:
    """A dict display of (column, expression): a plain dict is the cheapest thing to build per element."""
    return "{" + ", ".join(f"{k!r}: {e}" for k, e in members) + "}"


_Node = dict  # (name, OCCURS index or None) -> _Node, or a leaf's column index


def _trie(layout: Layout) -> _Node:
    root: _Node = {}
    for i, f in enumerate(layout.fields):
        node = root
        for step in f.path[:-1]:
            node = node.setdefault(step, {})
        node[f.path[-1]] = i
    return root


def _odo_names(tree: Item | None) -> set[str]:
    found, stack = set(), [tree] if tree is not None else []
    while stack:
        it = stack.pop()
        if it.depending:
            found.add(it.name)
        stack += it.children
    return found


def _first_leaf(node: _Node | int) -> int:
    while not isinstance(node, int):
        node = next(iter(node.values()))
    return node


def _key(name: str) -> str:
    return name.replace("-", "_")


class _Plan:
    """Walks the trie once: the nested columns (name, expression) and the helper functions."""

    def __init__(self, layout: Layout, leaf: str = "t[{}]", lists: dict[tuple[str, ...], str] | None = None) -> None:
        self.layout, self.leaf, self.lists = layout, leaf, lists  # leaf: a column's value by its index
        self.index = {f.name: i for i, f in enumerate(layout.fields)}
        self.odo = _odo_names(layout.tree)
        self.columns: list[tuple[tuple[str, ...], str]] = []  # (COBOL path, expression)
        self.lines: list[str] = []  # locals of the top-level tables
        self.functions: list[str] = []
        self.keys: dict[tuple[str, ...], set[str]] = {}  # the inner columns of each nested column
        self.current: tuple[str, ...] = ()
        self.top(_trie(layout), ())

    def top(self, node: _Node, path: tuple[str, ...]) -> list[tuple[str, str]]:
        """Members of a group outside tables; registers its subgroups and tables as columns."""
        members: list[tuple[str, str]] = []
        for (name, idx), child in node.items():
            if idx is None and isinstance(child, int):
                members.append((self.layout.fields[child].name, self.leaf.format(child)))
            elif idx is None:
                inner = self.top(child, path + (name,))
                self.columns.append((path + (name,), dict_source(inner)))
                self.keys[path + (name,)] = {k for k, _ in inner}
                members += inner
            elif idx == 0 and self.lists is not None:  # built while the record was decoded
                var = self.lists[path + (name,)]
                self.columns.append((path + (name,), var))
                members.append((_key(name), var))
            elif idx == 0:
                var = f"a{len(self.lines)}"
                self.current = path + (name,)
                self.lines.append(f"{var} = {self.array(node, name, 0)}")
                self.columns.append((path + (name,), var))
                members.append((_key(name), var))
        return members

    def element(self, node: _Node | int, depth: int) -> str:
        if isinstance(node, int):
            return f"t[{node}]"
        members = self.members(node, depth)
        self.keys.setdefault(self.current, set()).update(k for k, _ in members)
        return dict_source(members)

    def members(self, node: _Node, depth: int) -> list[tuple[str, str]]:
        """Members of an element (``depth``: ODO tables around it): keys without index suffixes."""
        out: list[tuple[str, str]] = []
        for (name, idx), child in node.items():
            if idx is None and isinstance(child, int):
                out.append((self.layout.fields[child].key, f"t[{child}]"))
            elif idx is None:
                out += self.members(child, depth)
            elif idx == 0:
                out.append((_key(name), self.array(node, name, depth)))
        return out

    def array(self, parent: _Node, name: str, depth: int) -> str:
        elements: list[_Node | int] = []
        while (name, len(elements)) in parent:
            elements.append(parent[(name, len(elements))])
        if name not in self.odo:
            return "[" + ", ".join(self.element(e, depth) for e in elements) + "]"
        counter = self.layout.fields[_first_leaf(elements[0])].odo[depth][0]
        fn = f"_a{len(self.functions)}"
        self.functions.append("")  # the name is taken before the tables inside get theirs
        slot = len(self.functions) - 1
        body = [f"def {fn}(t):", f"    c = t[{self.index[counter]}]", "    if c.__class__ is not int: return []"]
        for k, e in enumerate(elements):
            body.append(f"    if c <= {k}: return o" if k else "    if c <= 0: return []")
            body.append(
                f"    o.append({self.element(e, depth + 1)})" if k else f"    o = [{self.element(e, depth + 1)}]"
            )
        self.functions[slot] = "\n".join(body + ["    return o"])
        return f"{fn}(t)"


def _names(layout: Layout, paths: list[tuple[str, ...]]) -> list[str]:
    """Column names of nested values: the group's name, qualified by its parents on a clash."""
    taken = set(layout.columns)
    depth = [1] * len(paths)
    for _ in range(10):
        names = ["_".join(_key(p) for p in path[-d:]) for path, d in zip(paths, depth)]
        clash = {n for n in names if n in taken or names.count(n) > 1}
        if not clash:
            break
        depth = [d + 1 if n in clash and d < len(path) else d for n, d, path in zip(names, depth, paths)]
    result: list[str] = []
    for n in names:
        while n in taken or n in result:
            n += "_"
        result.append(n)
    return result


def nested_columns(layout: Layout) -> list[str]:
    """The names of the array and object columns :func:`make_nester` builds, in its order."""
    return _names(layout, [path for path, _ in _Plan(layout).columns])


def nested_values(layout: Layout, leaf: str, lists: dict[tuple[str, ...], str]) -> list[str]:
    """Expressions of the nested columns, in :func:`nested_columns` order, over variables holding
    the flat values (``leaf``: "v{}") and the tables' lists (``lists``, by COBOL path)."""
    return [expr for _, expr in _Plan(layout, leaf, lists).columns]


def nested_keys(layout: Layout) -> dict[str, set[str]]:
    """Each nested column's inner columns (an array's element keys; none for scalars)."""
    plan = _Plan(layout)
    names = _names(layout, [path for path, _ in plan.columns])
    return {name: plan.keys.get(path, set()) for name, (path, _) in zip(names, plan.columns)}


def make_nester(layout: Layout) -> Callable[[tuple], tuple] | None:
    """``nest(flat row) -> tuple`` of the nested columns, or None when the layout has none."""
    plan = _Plan(layout)
    if not plan.columns:
        return None
    values = ", ".join(e for _, e in plan.columns) + ("," if len(plan.columns) == 1 else "")
    src = "\n".join(plan.functions) + "\ndef nest(t):\n" + "".join(f"    {ln}\n" for ln in plan.lines)
    src += f"    return ({values})\n"
    ns: dict[str, Any] = {}
    exec(compile(src, f"<copybook arrays {len(plan.columns)} columns>", "exec"), ns)  # noqa: S102
    nest = ns["nest"]
    nest.source = src
    return nest
