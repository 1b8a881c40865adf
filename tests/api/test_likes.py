from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.conftest import (
    API,
    Account,
    api_client,
    assert_error,
    assert_user,
    delete_media,
    eventually,
    fresh_get,
    get_media,
    ids,
    like,
    paginate,
    post_media,
    signup_user,
    unlike,
)
from tests.support.server import ServerProcess


def test_like_and_unlike(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    assert like(http, bo, media["id"]) == {"liked": True, "like_count": 1}
    for reply in fresh_get(server.base_url, f"{API}/media/{media['id']}", bo.headers):
        assert reply.json()["like_count"] == 1
        assert reply.json()["liked_by_me"] is True
    assert get_media(http, media["id"], ana)["liked_by_me"] is False

    assert unlike(http, bo, media["id"]) == {"liked": False, "like_count": 0}
    after = get_media(http, media["id"], bo)
    assert (after["like_count"], after["liked_by_me"]) == (0, False)


def test_like_is_idempotent(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    like(http, bo, media["id"])
    assert like(http, bo, media["id"]) == {"liked": True, "like_count": 1}
    assert get_media(http, media["id"], bo)["like_count"] == 1
    assert ids(paginate(http, f"{API}/media/{media['id']}/likers", bo)) == [bo.id]


def test_unlike_is_idempotent(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo, cy = signup(), signup(), signup()
    media = post_media(http, ana)
    like(http, cy, media["id"])
    assert unlike(http, bo, media["id"]) == {"liked": False, "like_count": 1}
    like(http, bo, media["id"])
    assert unlike(http, bo, media["id"]) == {"liked": False, "like_count": 1}
    assert unlike(http, bo, media["id"]) == {"liked": False, "like_count": 1}
    assert get_media(http, media["id"], bo)["like_count"] == 1


def test_liking_own_media_is_allowed(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    assert like(http, ana, media["id"]) == {"liked": True, "like_count": 1}
    mine = get_media(http, media["id"], ana)
    assert (mine["like_count"], mine["liked_by_me"]) == (1, True)


def test_likes_from_several_users_count(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    fans = [signup() for _ in range(4)]
    media = post_media(http, ana)
    for n, fan in enumerate(fans, start=1):
        assert like(http, fan, media["id"]) == {"liked": True, "like_count": n}

    def counted() -> None:
        anonymous = get_media(http, media["id"])
        assert (anonymous["like_count"], anonymous["liked_by_me"]) == (4, False)
        likers = paginate(http, f"{API}/media/{media['id']}/likers")
        assert ids(likers) == [f.id for f in reversed(fans)]
        for user in likers:
            assert_user(user, authenticated=False)

    eventually(counted)


def test_like_unknown_media_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    bo = signup()
    for media_id in ("1", "abc", "-5", "99999999999999999999999"):
        assert_error(http.put(f"{API}/media/{media_id}/like", headers=bo.headers), 404, "not_found")
        response = http.delete(f"{API}/media/{media_id}/like", headers=bo.headers)
        assert_error(response, 404, "not_found")
        assert_error(http.get(f"{API}/media/{media_id}/likers"), 404, "not_found")


def test_like_without_token_is_401(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    assert_error(http.put(f"{API}/media/{media['id']}/like"), 401, "unauthorized")
    assert_error(http.delete(f"{API}/media/{media['id']}/like"), 401, "unauthorized")
    assert get_media(http, media["id"], ana)["like_count"] == 0


def test_like_deleted_media_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    like(http, bo, media["id"])
    delete_media(http, ana, media["id"])

    def refused() -> None:
        response = http.put(f"{API}/media/{media['id']}/like", headers=bo.headers)
        assert_error(response, 404, "not_found")

    eventually(refused)


def test_likers_show_followed_by_me(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, viewer, followed, stranger = signup(), signup(), signup(), signup()
    media = post_media(http, ana)
    like(http, followed, media["id"])
    like(http, stranger, media["id"])
    assert http.put(f"{API}/users/{followed.username}/follow", headers=viewer.headers).is_success

    def flags() -> None:
        likers = paginate(http, f"{API}/media/{media['id']}/likers", viewer)
        assert {u["id"]: u["followed_by_me"] for u in likers} == {
            followed.id: True,
            stranger.id: False,
        }

    eventually(flags)


def test_concurrent_likes_and_unlikes_never_lose_an_update(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    owner = signup()
    media = post_media(http, owner)
    media_id = media["id"]
    users = 50

    def worker(seed: int) -> tuple[str, bool]:
        rng = random.Random(seed)
        with api_client(server.base_url) as client:
            fan = signup_user(client)
            liked = False
            for _ in range(rng.randint(1, 6)):
                liked = rng.random() < 0.6
                body = like(client, fan, media_id) if liked else unlike(client, fan, media_id)
                assert body["liked"] is liked
                assert 0 <= body["like_count"] <= users
            return fan.id, liked

    with ThreadPoolExecutor(users) as pool:
        results = list(pool.map(worker, range(users)))

    expected = {fan_id for fan_id, liked in results if liked}
    assert 0 < len(expected) < users  # the seeds give a mix

    def settled() -> None:
        assert get_media(http, media_id)["like_count"] == len(expected)
        assert get_media(http, media_id, owner)["like_count"] == len(expected)
        likers = ids(paginate(http, f"{API}/media/{media_id}/likers", limit=100))
        assert len(likers) == len(expected)
        assert set(likers) == expected

    eventually(settled)
    newcomer = signup()
    assert like(http, newcomer, media_id) == {"liked": True, "like_count": len(expected) + 1}
