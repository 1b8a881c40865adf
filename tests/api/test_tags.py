"""Hashtags: tag pages, exact media counts, prefix search."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import httpx

from tests.api.conftest import (
    API,
    Account,
    api_client,
    assert_error,
    assert_media,
    delete_media,
    eventually,
    get_json,
    ids,
    make_image,
    paginate,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess


def new_tag(prefix: str = "t") -> str:
    return f"{prefix}{uuid4().hex[:10]}"


def tag_count(http: httpx.Client, tag: str) -> int:
    body = get_json(http, f"{API}/tags/{tag}")
    assert set(body) == {"name", "media_count"} and body["name"] == tag.lower(), body
    count: int = body["media_count"]
    return count


def edit_caption(http: httpx.Client, who: Account, media_id: str, caption: str) -> None:
    response = http.patch(f"{API}/media/{media_id}", headers=who.headers, json={"caption": caption})
    assert response.status_code == 200, response.text


def test_hashtags_are_parsed_lowercased_once_each_in_order(http: httpx.Client) -> None:
    ana = signup_user(http)
    tag = new_tag()
    caption = f"#{tag.upper()} sunset #Bondi_Beach #{tag} x#mid #日本 #{'a' * 101} #"
    media = post_media(http, ana, caption=caption)
    assert_media(media, ana)
    assert media["hashtags"] == [tag, "bondi_beach", "mid", "日本"]


def test_a_tag_page_is_newest_first_and_counts_are_exact(http: httpx.Client) -> None:
    ana, bo = signup_user(http), signup_user(http)
    tag = new_tag()
    assert tag_count(http, tag) == 0
    assert get_json(http, f"{API}/tags/{tag}/media") == {"items": [], "next_cursor": None}
    posted = [
        post_media(http, who, caption=f"#{tag} {i}")["id"] for i, who in enumerate([ana, bo, ana])
    ]
    eventually(lambda: tag_count(http, tag) == 3)
    eventually(lambda: tag_count(http, tag.upper()) == 3)
    eventually(lambda: ids(paginate(http, f"{API}/tags/{tag}/media", limit=2)) == posted[::-1])
    page = paginate(http, f"{API}/tags/{tag}/media", ana, limit=2)
    assert ids(page) == posted[::-1]
    for item in page:
        assert_media(item)
    delete_media(http, bo, posted[1])
    eventually(lambda: tag_count(http, tag) == 2)
    eventually(
        lambda: ids(paginate(http, f"{API}/tags/{tag}/media", limit=1)) == [posted[2], posted[0]]
    )
    edit_caption(http, ana, posted[0], "no tags now")
    eventually(lambda: tag_count(http, tag) == 1)
    eventually(lambda: ids(paginate(http, f"{API}/tags/{tag}/media")) == [posted[2]])


def test_more_than_30_distinct_tags_is_422(http: httpx.Client) -> None:
    ana = signup_user(http)
    thirty = " ".join(f"#t{i}" for i in range(30))
    assert post_media(http, ana, caption=thirty + " #T0")["hashtags"][0] == "t0"
    response = http.post(
        f"{API}/media",
        headers=ana.headers,
        files={"file": ("p.jpg", make_image(), "image/jpeg")},
        data={"caption": thirty + " #t30"},
    )
    assert_error(response, 422, "validation_failed")


def test_tag_counts_are_exact_under_concurrent_posts(
    http: httpx.Client, server: ServerProcess
) -> None:
    tag = new_tag("c")
    people = [signup_user(http) for _ in range(4)]

    def post(n: int) -> str:
        with api_client(server.base_url) as client:
            return str(post_media(client, people[n % 4], caption=f"#{tag} {n}")["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        posted = list(pool.map(post, range(24)))
    eventually(lambda: tag_count(http, tag) == 24)

    def delete(n: int) -> None:
        with api_client(server.base_url) as client:
            delete_media(client, people[n % 4], posted[n])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(delete, range(0, 24, 2)))
    eventually(lambda: tag_count(http, tag) == 12)
    eventually(
        lambda: sorted(ids(paginate(http, f"{API}/tags/{tag}/media"))) == sorted(posted[1::2])
    )


def test_tag_search_is_by_prefix_then_media_count(http: httpx.Client) -> None:
    ana = signup_user(http)
    stem = new_tag("s")
    for tag, times in ((f"{stem}a", 1), (f"{stem}b", 3), (f"{stem}c", 2), ("other" + stem, 5)):
        for _ in range(times):
            post_media(http, ana, caption=f"#{tag}")

    def search(q: str, **params: object) -> list[tuple[str, int]]:
        body = get_json(http, f"{API}/search/tags", q=q, **params)
        assert body["next_cursor"] is None
        return [(t["name"], t["media_count"]) for t in body["items"]]

    expected = [(f"{stem}b", 3), (f"{stem}c", 2), (f"{stem}a", 1)]
    eventually(lambda: search(stem.upper()) == expected)
    assert search(f"#{stem}", limit=2) == [(f"{stem}b", 3), (f"{stem}c", 2)]
    media = post_media(http, ana, caption=f"#{stem}a #{stem}a")
    eventually(lambda: search(stem)[1] == (f"{stem}a", 2) or search(stem)[0] == (f"{stem}a", 2))
    delete_media(http, ana, media["id"])
    assert search(stem + "zzz") == []


def test_tag_search_finds_the_most_used_tag_past_a_thousand_earlier_names(
    http: httpx.Client,
) -> None:
    # 1,020 tags sort before the popular one: a search that ranked only the
    # first 1,000 names of the prefix range would never see it.
    ana = signup_user(http)
    stem = new_tag("k")
    crowd = [f"{stem}a{i:04d}" for i in range(1020)]
    for start in range(0, len(crowd), 30):
        post_media(http, ana, caption=" ".join(f"#{t}" for t in crowd[start : start + 30]))
    popular = f"{stem}zpopular"
    for _ in range(3):
        post_media(http, ana, caption=f"#{popular} #{stem}zsecond")
    post_media(http, ana, caption=f"#{stem}zsecond")

    def search(q: str, **params: object) -> list[tuple[str, int]]:
        body = get_json(http, f"{API}/search/tags", q=q, **params)
        return [(t["name"], t["media_count"]) for t in body["items"]]

    expected = [(popular, 3), (f"{stem}zsecond", 4)]
    expected.sort(key=lambda t: -t[1])
    found = eventually(lambda: search(stem, limit=3) if len(search(stem)) == 20 else False)
    assert found[:2] == expected and found[2] == (crowd[0], 1)
    # Every prefix length the index holds, and a longer one (a name-range walk).
    assert search(f"{stem}z", limit=2) == expected
    assert search(f"{stem}zp") == [(popular, 3)]
    long_tag = f"{stem}{'x' * 20}"
    post_media(http, ana, caption=f"#{long_tag}")
    eventually(lambda: search(long_tag[:-1]) == [(long_tag, 1)])
    # Counts in the index follow edits and deletes.
    media = post_media(http, ana, caption=f"#{crowd[-1]} #{crowd[-1]}")
    eventually(lambda: search(f"{stem}a", limit=1) == [(crowd[-1], 2)])
    delete_media(http, ana, media["id"])
    eventually(lambda: search(f"{stem}a", limit=1) == [(crowd[0], 1)])


def test_bad_tag_requests(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/search/tags"), 400, "invalid_request")
    assert_error(http.get(f"{API}/search/tags", params={"q": ""}), 400)
    assert_error(http.get(f"{API}/search/tags", params={"q": "a" * 101}), 400)
    assert_error(http.get(f"{API}/search/tags", params={"q": "a", "limit": "0"}), 400)
    assert_error(http.get(f"{API}/tags/no-such!tag"), 404, "not_found")
    assert_error(http.get(f"{API}/tags/{'a' * 101}"), 404, "not_found")
    assert_error(http.get(f"{API}/tags/abc/media", params={"cursor": "nope"}), 400)
    assert http.get(f"{API}/search/tags", params={"q": "@#!"}).json()["items"] == []
