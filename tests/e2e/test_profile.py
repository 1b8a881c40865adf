"""Profile editing, follower lists and deleting a post."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.ui import Tab, sign_up, unique_name


def test_edit_profile_follow_lists_and_delete_post(new_tab: Callable[..., Tab]) -> None:
    cy_name, di_name = unique_name("cy"), unique_name("di")
    cy, di = new_tab(), new_tab()
    sign_up(cy, cy_name)
    sign_up(di, di_name)

    # Cy edits the profile; markup in the bio stays text.
    cy.goto(f"/u/{cy_name}")
    cy.page.get_by_role("button", name="Edit profile").click()
    dialog = cy.page.get_by_role("dialog", name="Edit profile")
    dialog.get_by_label("Name").fill("Cy Rivera")
    dialog.get_by_label("Bio").fill("<b>not bold</b> & proud")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(cy.page.locator("#profile-bio")).to_have_text("<b>not bold</b> & proud")
    expect(cy.page.locator("#profile-full")).to_have_text("Cy Rivera")
    assert cy.page.locator("#profile-bio b").count() == 0

    # Di follows Cy, unfollows, follows again; Cy's followers list shows Di.
    di.goto(f"/u/{cy_name}")
    di.page.get_by_role("button", name="Follow", exact=True).click()
    expect(di.page.locator("#count-followers")).to_have_text("1")
    di.page.locator(".follow-btn").click()
    expect(di.page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    expect(di.page.locator("#count-followers")).to_have_text("0")
    di.page.get_by_role("button", name="Follow", exact=True).click()
    expect(di.page.locator("#count-followers")).to_have_text("1")
    cy.page.reload()
    expect(cy.page.locator("#count-followers")).to_have_text("1")
    cy.page.locator("#btn-followers").click()
    people = cy.page.get_by_role("dialog", name="Followers")
    expect(people.get_by_role("link", name=di_name)).to_be_visible()
    people.get_by_role("button", name="Close").click()
    expect(people).to_be_hidden()

    # Cy deletes a post after confirming in a dialog (not window.confirm).
    media = cy.api_post_photo("to be deleted")
    cy.goto(f"/p/{media['id']}")
    cy.page.get_by_role("button", name="Delete post").click()
    confirm = cy.page.get_by_role("dialog", name="Delete post?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    cy.page.get_by_role("button", name="Delete post").click()
    confirm.get_by_role("button", name="Delete").click()
    cy.page.wait_for_url(f"**/u/{cy_name}")
    expect(cy.page.locator("#count-posts")).to_have_text("0")
    expect(cy.page.locator("#grid-empty")).to_be_visible()
    cy.goto(f"/p/{media['id']}")
    expect(cy.page.locator("#post-missing")).to_be_visible()

    cy.assert_clean()
    di.assert_clean()
