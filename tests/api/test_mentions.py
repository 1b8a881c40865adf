"""Mentions in captions and comments, and comment text in activity."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_activity,
    assert_error,
    comment,
    delete_media,
    eventually,
    get_page,
    post_media,
    signup_user,
)


def inbox(http: httpx.Client, who: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_page(http, f"{API}/activity", who, limit=100)["items"]
    for item in items:
        assert_activity(item)
    return items


def unread(http: httpx.Client, who: Account) -> int:
    count: int = http.get(f"{API}/activity/unread", headers=who.headers).json()["count"]
    return count


def mentions_of(http: httpx.Client, who: Account) -> list[dict[str, Any]]:
    return [i for i in inbox(http, who) if i["type"] == "mention"]


def test_a_caption_mention_notifies_existing_users_only(http: httpx.Client) -> None:
    ana, bo, cy = signup_user(http), signup_user(http), signup_user(http)
    caption = f"with @{bo.username.upper()}. and @{cy.username}, @nosuchuser1x, @{ana.username}"
    media = post_media(http, ana, caption=caption)
    assert media["mentions"] == [bo.username, cy.username, ana.username]
    for who in (bo, cy):
        item = eventually(lambda who=who: mentions_of(http, who) or False)[0]
        assert item["actor"]["id"] == ana.id and item["media_id"] == media["id"]
        assert item["comment_id"] is None and item["text"] is None
    assert mentions_of(http, ana) == []  # never for mentioning oneself


def test_the_mention_rule_needs_a_boundary_before_the_at(http: httpx.Client) -> None:
    ana, bo = signup_user(http), signup_user(http)
    caption = f"mail{bo.username}@x a.@{bo.username} _@{bo.username} x@{bo.username}"
    assert post_media(http, ana, caption=caption)["mentions"] == []
    assert post_media(http, ana, caption=f"(@{bo.username})")["mentions"] == [bo.username]


def test_caption_edits_add_and_remove_mention_items(http: httpx.Client) -> None:
    ana, bo, cy = signup_user(http), signup_user(http), signup_user(http)
    media = post_media(http, ana, caption=f"hi @{bo.username}")
    eventually(lambda: len(mentions_of(http, bo)) == 1)
    response = http.patch(
        f"{API}/media/{media['id']}", headers=ana.headers, json={"caption": f"hi @{cy.username}"}
    )
    assert response.status_code == 200 and response.json()["mentions"] == [cy.username]
    eventually(lambda: mentions_of(http, bo) == [] and len(mentions_of(http, cy)) == 1)
    delete_media(http, ana, media["id"])
    eventually(lambda: mentions_of(http, cy) == [])


def test_comments_carry_their_text_and_mentions_in_them_notify(http: httpx.Client) -> None:
    ana, bo, cy = signup_user(http), signup_user(http), signup_user(http)
    media = post_media(http, ana)
    made = comment(http, bo, media["id"], f"nice, @{cy.username} look @{bo.username}")
    item = eventually(lambda: [i for i in inbox(http, ana) if i["type"] == "comment"] or False)[0]
    assert item["comment_id"] == made["id"] and item["text"] == made["text"]
    mention = eventually(lambda: mentions_of(http, cy) or False)[0]
    assert mention["comment_id"] == made["id"] and mention["text"] == made["text"]
    assert mention["media_id"] == media["id"] and mention["actor"]["id"] == bo.id
    assert mentions_of(http, bo) == []
    response = http.delete(f"{API}/comments/{made['id']}", headers=bo.headers)
    assert response.status_code == 204
    eventually(lambda: mentions_of(http, cy) == [])
    eventually(lambda: [i for i in inbox(http, ana) if i["type"] == "comment"] == [])


def test_more_than_20_distinct_mentions_is_422(http: httpx.Client) -> None:
    ana = signup_user(http)
    people = [signup_user(http) for _ in range(21)]
    media = post_media(http, ana)
    text = " ".join(f"@{p.username}" for p in people)
    response = http.post(
        f"{API}/media/{media['id']}/comments", headers=ana.headers, json={"text": text}
    )
    assert_error(response, 422, "validation_failed")
    edit = http.patch(f"{API}/media/{media['id']}", headers=ana.headers, json={"caption": text})
    assert_error(edit, 422, "validation_failed")
    twenty = " ".join(f"@{p.username}" for p in people[:20]) + " @nobody_here_x"
    ok = http.post(
        f"{API}/media/{media['id']}/comments", headers=ana.headers, json={"text": twenty}
    )
    assert ok.status_code == 201


def test_a_post_owner_mentioned_in_a_comment_gets_the_comment_and_the_mention(
    http: httpx.Client,
) -> None:
    # api.md: a mention item is for "someone mentioned me in a caption or a
    # comment; never for mentioning oneself": the owner of the post is not
    # left out, so their inbox holds both items, each with the comment.
    ana, bo = signup_user(http), signup_user(http)
    media = post_media(http, ana)
    made = comment(http, bo, media["id"], f"@{ana.username} what a view")

    def both() -> list[dict[str, Any]] | bool:
        items = [i for i in inbox(http, ana) if i["type"] in ("comment", "mention")]
        return items if len(items) == 2 else False

    items = eventually(both)
    assert sorted(i["type"] for i in items) == ["comment", "mention"]
    assert len({i["id"] for i in items}) == 2
    for item in items:
        assert item["comment_id"] == made["id"] and item["text"] == made["text"]
        assert item["media_id"] == media["id"] and item["actor"]["id"] == bo.id
    eventually(lambda: unread(http, ana) == 2)
    # The owner's own comment mentioning themself makes no item at all.
    comment(http, ana, media["id"], f"thanks @{ana.username}")
    # Deleting the comment (here by the post's owner) takes both items away.
    response = http.delete(f"{API}/comments/{made['id']}", headers=ana.headers)
    assert response.status_code == 204
    assert [i for i in inbox(http, ana) if i["type"] in ("comment", "mention")] == []
    eventually(lambda: unread(http, ana) == 0)
