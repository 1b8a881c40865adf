"""DELETE /api/v1/me: the account and all it made go; counters are corrected."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import (
    API,
    PASSWORD,
    Account,
    assert_error,
    comment,
    eventually,
    follow,
    get_json,
    get_me,
    get_media,
    get_user,
    like,
    make_image,
    paginate,
    post_media,
)


def _delete_me(http: httpx.Client, who: Account, password: str = PASSWORD) -> httpx.Response:
    return http.request("DELETE", f"{API}/me", headers=who.headers, json={"password": password})


def test_deleting_needs_the_password_and_a_well_formed_body(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    assert_error(_delete_me(http, ana, "not my password"), 401, "unauthorized")
    bad_bodies = [{}, {"password": 1}, {"password": PASSWORD, "also": True}]
    for body in bad_bodies:
        response = http.request("DELETE", f"{API}/me", headers=ana.headers, json=body)
        assert_error(response, 400, "invalid_request")
    assert_error(http.request("DELETE", f"{API}/me", json={"password": PASSWORD}), 401)
    assert get_me(http, ana)["id"] == ana.id


def test_a_deleted_account_and_all_it_made_are_gone(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    gone, bo, cy = signup(full_name="Gone Person"), signup(), signup()
    second_session = http.post(
        f"{API}/sessions", json={"username": gone.username, "password": PASSWORD}
    ).json()["token"]
    follow(http, gone, bo.username)
    follow(http, bo, gone.username)
    follow(http, cy, gone.username)
    own = post_media(http, gone, caption="mine")
    bos = post_media(http, bo, caption="bo's")
    like(http, gone, bos["id"])
    comment(http, gone, bos["id"], "nice")
    comment(http, gone, bos["id"], "really")
    like(http, bo, own["id"])
    comment(http, cy, own["id"], "hi")
    avatar = http.put(
        f"{API}/me/avatar",
        headers=gone.headers,
        files={"file": ("a.png", make_image("PNG", (64, 64)), "image/png")},
    ).json()["avatar"]
    # gone's follow, like and two comments.
    eventually(lambda: len(get_json(http, f"{API}/activity", bo)["items"]) == 4)

    assert _delete_me(http, gone).status_code == 204
    # At once: no session works, the profile and posts are gone, the name is free.
    for token in (gone.token, second_session):
        assert_error(http.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert_error(http.get(f"{API}/users/{gone.username}"), 404, "not_found")
    assert_error(http.get(f"{API}/media/{own['id']}"), 404, "not_found")
    again = http.post(f"{API}/accounts", json={"username": gone.username, "password": PASSWORD})
    assert again.status_code == 201, again.text
    assert again.json()["user"]["id"] != gone.id
    assert get_user(http, gone.username)["id"] == again.json()["user"]["id"]
    assert gone.id not in [u["id"] for u in paginate(http, f"{API}/users/{bo.username}/followers")]

    def cleared() -> None:
        bo_now, cy_now = get_me(http, bo), get_me(http, cy)
        assert (bo_now["follower_count"], bo_now["following_count"]) == (0, 0), bo_now
        assert (cy_now["follower_count"], cy_now["following_count"]) == (0, 0), cy_now
        media = get_media(http, bos["id"], bo)
        assert (media["like_count"], media["comment_count"]) == (0, 0), media
        comments = paginate(http, f"{API}/media/{bos['id']}/comments")
        assert comments == []
        assert paginate(http, f"{API}/media/{bos['id']}/likers") == []
        assert get_json(http, f"{API}/activity", bo)["items"] == []
        assert get_json(http, f"{API}/activity/unread", bo)["count"] == 0
        for url in [*own["images"].values(), *avatar.values()]:
            assert http.get(url).status_code == 404, url
        feed = get_json(http, f"{API}/feed", cy)["items"]
        assert own["id"] not in [m["id"] for m in feed]

    eventually(cleared, timeout=20)
    found = get_json(http, f"{API}/search/users", q=gone.username)["items"]
    assert [u["id"] for u in found] == [again.json()["user"]["id"]]


def test_two_concurrent_deletions_delete_once(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ana, bo = signup(), signup()
    follow(http, ana, bo.username)
    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(lambda _: _delete_me(http, ana).status_code, range(3)))
    assert statuses[0] == 204 and set(statuses[1:]) <= {204, 401}, statuses
    assert 204 in statuses
    eventually(lambda: get_me(http, bo)["follower_count"] == 0, timeout=20)


def test_a_deleted_accounts_carousels_tags_and_mentions_go_too(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    gone, bo = signup(), signup()
    tag = f"gonetag{gone.id}"
    images = [make_image(size=(64, 48)), make_image(size=(48, 64)), make_image(size=(32, 32))]
    files = [("file", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
    caption = ("caption", (None, f"#{tag} with @{bo.username}"))
    created = http.post(f"{API}/media", headers=gone.headers, files=[*files, caption])
    assert created.status_code == 201, created.text
    carousel = created.json()
    urls = [url for photo in carousel["photos"] for url in photo["images"].values()]
    assert len(urls) == 9 and all(http.get(url).status_code == 200 for url in urls)
    assert get_json(http, f"{API}/tags/{tag}")["media_count"] == 1

    def mentions() -> list[object]:
        items = get_json(http, f"{API}/activity", bo)["items"]
        return [i for i in items if i["type"] == "mention"]

    eventually(lambda: len(mentions()) == 1)

    assert _delete_me(http, gone).status_code == 204

    def cleared() -> None:
        assert mentions() == []
        assert get_json(http, f"{API}/tags/{tag}")["media_count"] == 0
        assert paginate(http, f"{API}/tags/{tag}/media") == []
        for url in urls:
            assert http.get(url).status_code == 404, url

    eventually(cleared, timeout=20)


def test_every_item_a_deleted_account_caused_leaves_the_inboxes_and_unread_counts(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    gone, bo, cy, dee = signup(), signup(), signup(), signup()
    bos, cys = post_media(http, bo), post_media(http, cy)
    # Mentions of people other than the post's owner, in comments and a caption.
    comment(http, gone, bos["id"], f"@{cy.username} nice")
    comment(http, gone, cys["id"], f"@{bo.username} @{dee.username} and @{cy.username}")
    post_media(http, gone, caption=f"@{cy.username} look")
    own = post_media(http, gone, caption="mine")
    comment(http, gone, own["id"], f"@{dee.username} mine")  # on its own post
    like(http, gone, bos["id"])
    like(http, gone, cys["id"])
    follow(http, gone, bo.username)
    follow(http, gone, cy.username)
    follow(http, gone, dee.username)
    # What others did stays: dee follows cy.
    follow(http, dee, cy.username)
    # bo: comment, like, follow, and the mention in the comment on cy's post.
    # cy: a mention by comment on bo's post, one by caption, a comment item
    # (with the owner's mention item beside it), a like, two follows.
    # dee: two mentions by comment, a follow.
    expected = {bo.id: 4, cy.id: 7, dee.id: 3}

    def unread(who: Account) -> int:
        count: int = get_json(http, f"{API}/activity/unread", who)["count"]
        return count

    eventually(lambda: {a.id: unread(a) for a in (bo, cy, dee)} == expected, timeout=10)

    assert _delete_me(http, gone).status_code == 204

    def cleared() -> None:
        assert {a.id: unread(a) for a in (bo, cy, dee)} == {bo.id: 0, cy.id: 1, dee.id: 0}
        for who in (bo, cy, dee):
            items = paginate(http, f"{API}/activity", who)
            assert all(item["actor"]["id"] != gone.id for item in items), items
        assert [i["actor"]["id"] for i in paginate(http, f"{API}/activity", cy)] == [dee.id]

    eventually(cleared, timeout=20)
