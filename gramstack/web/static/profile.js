// Profile: avatar initials, counts, follow/unfollow, edit, photo grid.
(function () {
  "use strict";
  const { h, $, seg } = GS;

  let user = null;
  let me = null;

  function renderUser() {
    GS.fillAvatar($("profile-avatar"), user);
    $("profile-username").textContent = user.username;
    $("count-posts").textContent = GS.compact(user.media_count);
    $("count-followers").textContent = GS.compact(user.follower_count);
    $("count-following").textContent = GS.compact(user.following_count);
    $("btn-followers").lastChild.textContent = user.follower_count === 1 ? " follower" : " followers";
    $("count-posts").nextSibling.textContent = user.media_count === 1 ? " post" : " posts";
    $("profile-full").textContent = user.full_name || "";
    $("profile-bio").textContent = user.bio || "";
    $("profile-full").hidden = !user.full_name;
    $("profile-bio").hidden = !user.bio;
    renderActions();
  }

  function renderActions() {
    const box = $("profile-actions");
    if (me && me.id === user.id) {
      const edit = h("button", { class: "btn btn-secondary", type: "button" }, "Edit profile");
      edit.addEventListener("click", openEdit);
      const post = h("a", { class: "btn btn-secondary", href: "/new" }, "New post");
      const settings = h("a", { class: "btn btn-secondary", href: "/settings" }, "Settings");
      box.replaceChildren(edit, post, settings);
      return;
    }
    if (!me) {
      box.replaceChildren(h("a", { class: "btn btn-primary", href: GS.withQuery("/login", { next: location.pathname }) }, "Follow"));
      return;
    }
    const following = !!user.followed_by_me;
    const button = h(
      "button",
      { class: following ? "btn btn-secondary follow-btn" : "btn btn-primary follow-btn", type: "button" },
      following ? "Following" : "Follow"
    );
    if (following) button.setAttribute("aria-label", "Following " + user.username + " (unfollow)");
    button.addEventListener("click", () => toggleFollow(button, !following));
    box.replaceChildren(button);
  }

  async function toggleFollow(button, follow) {
    button.disabled = true;
    try {
      user = await GS.api(follow ? "PUT" : "DELETE", "/users/" + seg(user.username) + "/follow");
      if (user.followed_by_me === undefined) user.followed_by_me = follow;
      renderUser();
      const again = document.querySelector(".follow-btn");
      if (again) again.focus();
    } catch (err) {
      GS.toast(err.message);
      button.disabled = false;
    }
  }

  function openEdit() {
    const dialog = $("edit-dialog");
    const form = $("edit-form");
    form.full_name.value = user.full_name || "";
    form.bio.value = user.bio || "";
    updateBioCount();
    GS.showError($("edit-error"), null);
    dialog.showModal();
  }

  function updateBioCount() {
    $("edit-bio-count").textContent = $("edit-bio").value.length + " / " + GS.limits.max_bio;
  }

  function setupEdit() {
    const form = $("edit-form");
    $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
    $("edit-bio").addEventListener("input", updateBioCount);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const save = form.querySelector('button[type="submit"]');
      save.disabled = true;
      try {
        user = await GS.api("PATCH", "/me", { full_name: form.full_name.value.trim(), bio: form.bio.value.trim() });
        me = user;
        renderUser();
        $("edit-dialog").close();
      } catch (err) {
        GS.showError($("edit-error"), err);
      } finally {
        save.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const username = $("profile").dataset.username;
    me = await GS.me;
    try {
      user = await GS.api("GET", "/users/" + seg(username));
    } catch (err) {
      if (err.status === 404) {
        $("profile").querySelector(".profile-head").hidden = true;
        $("grid-title").hidden = true;
        $("grid-spinner").hidden = true;
        $("profile-missing").hidden = false;
        document.title = "Page not found · gramstack";
      } else {
        GS.toast(err.message);
      }
      return;
    }
    document.title = (user.full_name ? user.full_name + " (@" + user.username + ")" : "@" + user.username) + " · gramstack";
    renderUser();
    setupEdit();
    $("btn-followers").addEventListener("click", () =>
      GS.peopleDialog("Followers", "/users/" + seg(user.username) + "/followers", "No followers yet.")
    );
    $("btn-following").addEventListener("click", () =>
      GS.peopleDialog("Following", "/users/" + seg(user.username) + "/following", "Not following anyone yet.")
    );
    if (me && me.id === user.id) {
      $("grid-empty").append(h("p", null, "Share a photo and it will show up here."), h("p", null, h("a", { class: "btn btn-primary", href: "/new" }, "Share your first photo")));
    }
    GS.pager({
      path: "/users/" + seg(user.username) + "/media",
      limit: 12,
      list: $("grid"),
      more: $("grid-more"),
      empty: $("grid-empty"),
      spinner: $("grid-spinner"),
      render: GS.gridTile,
    });
  });
})();
