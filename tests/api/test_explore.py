"""Explore: recent posts of people the viewer does not follow, ranked by likes
and comments with time decay, from a ranking snapshot a cursor pins."""

from __future__ import annotations

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    assert_media,
    comment,
    delete_media,
    eventually,
    follow,
    get_page,
    ids,
    like,
    paginate,
    post_media,
    signup_user,
)


def explore_ids(http: httpx.Client, viewer: Account | None = None) -> list[str]:
    return ids(paginate(http, f"{API}/explore", viewer, limit=100))


def test_explore_ranks_by_engagement_and_hides_own_and_followed(http: httpx.Client) -> None:
    viewer, ana, bo, cy = (signup_user(http) for _ in range(4))
    fans = [signup_user(http) for _ in range(3)]
    quiet = post_media(http, ana)["id"]
    loved = post_media(http, bo)["id"]
    talked = post_media(http, cy)["id"]
    own = post_media(http, viewer)["id"]
    for fan in fans:
        like(http, fan, loved)
    comment(http, fans[0], talked, "nice")

    def ranked() -> list[str]:
        everything = explore_ids(http)
        found = [i for i in everything if i in {quiet, loved, talked}]
        assert found == [loved, talked, quiet], found
        return everything

    anonymous = eventually(ranked, timeout=10)
    assert own in anonymous  # anonymous viewers see every recent post
    follow(http, viewer, bo.username)

    def personal() -> bool:
        found = [i for i in explore_ids(http, viewer) if i in {quiet, loved, talked, own}]
        return found == [talked, quiet]

    eventually(personal, timeout=10)
    for item in get_page(http, f"{API}/explore", viewer, limit=5)["items"]:
        assert_media(item)


def test_a_cursor_pins_its_ranking_while_likes_change_it(http: httpx.Client) -> None:
    author, fan = signup_user(http), signup_user(http)
    posted = [post_media(http, author)["id"] for _ in range(6)]
    eventually(lambda: set(posted) <= set(explore_ids(http)), timeout=10)
    seen: list[str] = []
    cursor: str | None = None
    for step in range(200):
        page = get_page(http, f"{API}/explore", limit=2, cursor=cursor)
        seen += ids(page["items"])
        # Reorder the ranking under the reader: the oldest posts gain likes.
        if step < len(posted):
            like(http, fan, posted[step])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item repeated across pages"
    assert set(posted) <= set(seen), "an item was skipped"


def test_a_deleted_post_leaves_explore(http: httpx.Client) -> None:
    ana = signup_user(http)
    media_id = post_media(http, ana)["id"]
    eventually(lambda: media_id in explore_ids(http), timeout=10)
    delete_media(http, ana, media_id)
    assert media_id not in explore_ids(http)


def test_bad_explore_requests(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/explore", params={"limit": "101"}), 400, "invalid_request")
    assert_error(http.get(f"{API}/explore", params={"cursor": "abc"}), 400, "invalid_cursor")
    other = get_page(http, f"{API}/tags/x/media")
    assert other["next_cursor"] is None
    response = http.get(f"{API}/explore", headers={"Authorization": "Bearer nope"})
    assert_error(response, 401, "unauthorized")
