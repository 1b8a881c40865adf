// Home: the welcome page when signed out, the feed with infinite scroll when signed in.
(function () {
  "use strict";
  const { h, $, icon, seg } = GS;

  const CAPTION_PREVIEW = 140;

  function caption(media) {
    const text = media.caption || "";
    if (!text) return null;
    const body = h("span", { class: "caption-text" }, GS.richText(text.length > CAPTION_PREVIEW ? text.slice(0, CAPTION_PREVIEW).trimEnd() + "…" : text, media.mentions));
    const line = h("p", { class: "caption" }, GS.userLink(media.owner, "user-link strong"), " ", body);
    if (text.length > CAPTION_PREVIEW) {
      const more = h("button", { class: "link-btn muted", type: "button" }, "more");
      more.addEventListener("click", () => {
        body.replaceChildren(GS.richText(text, media.mentions));
        more.remove();
      });
      line.append(" ", more);
    }
    return line;
  }

  function card(media, index) {
    const link = GS.photoUrl(media.id);
    const count = h("button", { class: "like-count link-btn strong", type: "button" });
    count.addEventListener("click", () =>
      GS.peopleDialog("Likes", "/media/" + seg(media.id) + "/likers", "No likes yet.")
    );
    const control = GS.likeControl(media, count);
    const figure = h("div", { class: "post-media" }, GS.image(media, { eager: index < 1 }));
    GS.doubleTapLike(figure, control);
    const comments =
      media.comment_count > 0
        ? h("a", { class: "muted post-comments", href: link }, media.comment_count === 1 ? "View 1 comment" : "View all " + GS.plural(media.comment_count, "comment", "comments"))
        : h("a", { class: "muted post-comments", href: link + "#comment" }, "Add a comment…");
    return h(
      "article",
      { class: "post card", dataset: { mediaId: media.id } },
      h(
        "header",
        { class: "post-head" },
        h("a", { class: "post-owner", href: GS.profileUrl(media.owner.username), tabindex: "-1", "aria-hidden": "true" }, GS.avatar(media.owner, "sm")),
        GS.userLink(media.owner, "user-link strong"),
        h("span", { class: "dot muted", "aria-hidden": "true" }, "•"),
        h("a", { class: "muted post-time", href: link }, GS.timeEl(media.created_at))
      ),
      figure,
      h(
        "div",
        { class: "post-body" },
        h(
          "div",
          { class: "post-actions" },
          control.button,
          h("a", { class: "icon-btn", href: link + "#comment", "aria-label": "Comment" }, icon("comment"))
        ),
        count,
        caption(media),
        comments
      )
    );
  }

  function sideMe(me) {
    const box = $("side-me");
    box.replaceChildren(
      h(
        "a",
        { class: "person-link", href: GS.profileUrl(me.username) },
        GS.avatar(me, "lg"),
        h("span", { class: "person-names" }, h("span", { class: "person-user" }, me.username), h("span", { class: "person-full muted" }, me.full_name || GS.plural(me.media_count, "post", "posts")))
      )
    );
  }

  // A person with a Follow button (suggestions).
  function suggestion(user) {
    const button = h("button", { class: "link-btn strong follow-suggest", type: "button", "aria-label": "Follow " + user.username }, "Follow");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await GS.api("PUT", "/users/" + seg(user.username) + "/follow");
        button.textContent = "Following";
        button.classList.add("muted");
      } catch (err) {
        GS.toast(err.message);
        button.disabled = false;
      }
    });
    return h(
      "li",
      { class: "person" },
      h("a", { class: "person-link", href: GS.profileUrl(user.username) }, GS.avatar(user, "md"), h("span", { class: "person-names" }, h("span", { class: "person-user" }, user.username), h("span", { class: "person-full muted" }, user.full_name || GS.plural(user.follower_count, "follower", "followers")))),
      button
    );
  }

  async function suggestions() {
    let page;
    try {
      page = await GS.api("GET", "/me/suggestions?limit=8");
    } catch (err) {
      return; // An older server has no suggestions: the sidebar stays as it was.
    }
    if (!page.items.length) return;
    $("side-suggest-list").replaceChildren(...page.items.slice(0, 5).map(suggestion));
    $("side-suggest").hidden = false;
    $("empty-suggest-list").replaceChildren(...page.items.map(suggestion));
    $("empty-suggest").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    // Signed in (by the cookie hint)? Ask for the feed alongside /me.
    const firstPage = $("home").hidden ? null : GS.api("GET", "/feed?limit=10");
    if (firstPage) firstPage.catch(() => null);
    const me = await GS.me;
    GS.show($("welcome"), !me);
    GS.show($("home"), !!me);
    if (!me) return;
    document.title = "gramstack";
    sideMe(me);
    GS.searchBox($("find-input"), $("find-results"));
    suggestions();
    let index = 0;
    GS.pager({
      path: "/feed",
      limit: 10,
      firstPage: firstPage,
      list: $("feed-list"),
      more: $("feed-more"),
      empty: $("feed-empty"),
      end: $("feed-end"),
      spinner: $("feed-spinner"),
      render: (media) => card(media, index++),
      onPage: (page, state) => {
        $("home").classList.toggle("is-empty", state.done && state.count === 0);
        if (!performance.getEntriesByName("gs:feed-rendered").length) performance.mark("gs:feed-rendered");
      },
    });
  });
})();
