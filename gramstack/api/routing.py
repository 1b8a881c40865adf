"""A Starlette router that tries only the routes a path can match.

Starlette's router matches a request against every route in turn, a regular
expression each; with the API's and the web UI's routes a request to
``/api/v1/media/{id}`` tried dozens before its own (5 % of a cached read's
CPU). Every path a route matches starts with the route's literal prefix
(its text before the first parameter): a route without parameters matches
its own path only, a route or mount with some matches only paths whose
first segments are the prefix's whole segments. So each request tries the
routes of its exact path and of its leading segments, in the table's order.
Anything but a full match (405s, slash redirects, 404s) falls back to
Starlette's own scan of every route, so the answers are Starlette's. A
plain ``Route`` is matched and entered inline (what ``Route.matches`` and
``Route.handle`` do, without their child scope and second method check;
a route without parameters by comparing its path, which is all its
regular expression says).
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

# Segments of a path looked at; longer prefixes count by their first ones.
_DEPTH = 3

_Key = tuple[str, ...]


def _route_key(route: BaseRoute) -> tuple[str | None, _Key]:
    """(the one path it matches, or None; the leading segments every path
    it matches has)."""
    if isinstance(route, Route):
        if "{" not in route.path:
            return route.path, ()
        literal = route.path.split("{", 1)[0]
    elif isinstance(route, Mount):
        literal = route.path + "/"  # "/static" serves "/static/..."
    else:
        return None, ()  # hosts and the like: tried for every path
    # The last piece may be cut short by a parameter: only whole segments count.
    return None, tuple(literal.split("/")[1:-1][:_DEPTH])


class IndexedRouter(Router):
    _indexed: tuple[list[BaseRoute], int] | None = None
    _by_prefix: dict[_Key, list[BaseRoute]]
    _by_path: dict[str, list[BaseRoute]]

    def _index(self) -> None:
        routes = list(self.routes)
        keys = [_route_key(route) for route in routes]
        prefixes = {prefix for path, prefix in keys if path is None}
        prefixes.add(())

        def candidates(path: str | None, key: _Key) -> list[BaseRoute]:
            # The table's order among every route this path could match.
            return [
                route
                for route, (exact, prefix) in zip(routes, keys, strict=True)
                if (exact is None and key[: len(prefix)] == prefix)
                or (exact is not None and exact == path)
            ]

        self._by_prefix = {key: candidates(None, key) for key in prefixes}
        self._by_path = {
            path: candidates(path, self._longest(_path_key(path)))
            for path, _ in keys
            if path is not None
        }
        self._indexed = (self.routes, len(self.routes))

    def _longest(self, key: _Key) -> _Key:
        """The longest indexed prefix of a path's leading segments: its list
        holds every route whose prefix is a prefix of them."""
        for depth in range(len(key), 0, -1):
            if key[:depth] in self._by_prefix:
                return key[:depth]
        return ()

    def _candidates(self, path: str) -> list[BaseRoute]:
        indexed = self._indexed
        if indexed is None or indexed[0] is not self.routes or indexed[1] != len(self.routes):
            self._index()  # first use, or routes added since (Starlette allows it)
        exact = self._by_path.get(path)
        if exact is not None:
            return exact
        key = _path_key(path)
        found = self._by_prefix.get(key)  # the usual case: a prefix of a route's own
        return found if found is not None else self._by_prefix[self._longest(key)]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            for route in self._candidates(path):
                if type(route) is Route:
                    # ``Route.matches`` and ``Route.handle`` inlined for a
                    # plain route: the path once, no child scope to merge,
                    # the method checked once.
                    convertors = route.param_convertors
                    if convertors:
                        found = route.path_regex.match(path)
                        if found is None:
                            continue
                        params = found.groupdict()
                        for key, value in params.items():
                            params[key] = convertors[key].convert(value)
                    elif route.path == path:  # all its regular expression would say
                        params = {}
                    else:
                        continue
                    if route.methods is not None and scope["method"] not in route.methods:
                        continue  # a partial match: Starlette's scan below answers it
                    if "path_params" in scope:
                        params = {**scope["path_params"], **params}
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope["endpoint"] = route.endpoint
                    scope["path_params"] = params
                    await route.app(scope, receive, send)
                    return
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        # No full match among the routes that could match: Starlette's scan
        # finds none either and answers the partial match, redirect or 404.
        await super().app(scope, receive, send)


def _path_key(path: str) -> _Key:
    """A request path's leading whole segments (up to ``_DEPTH``)."""
    return tuple(path.split("/")[1:-1][:_DEPTH])
