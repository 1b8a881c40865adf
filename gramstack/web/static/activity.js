// Activity: likes and comments on my photos, new followers. The inbox is
// eventually consistent, so the page also refreshes its head now and then.
(function () {
  "use strict";
  const { h, $, seg } = GS;

  const mediaCache = new Map();

  function mediaFor(id) {
    if (!mediaCache.has(id)) {
      mediaCache.set(
        id,
        GS.api("GET", "/media/" + seg(id)).catch(() => null)
      );
    }
    return mediaCache.get(id);
  }

  const VERBS = {
    like: "liked your photo.",
    comment: "commented:",
    mention: "mentioned you:",
    follow: "started following you.",
  };

  // "Follow back" for a new follower I don't follow yet.
  function followBack(actor, box) {
    GS.api("GET", "/users/" + seg(actor.username)).then(
      (user) => {
        if (user.followed_by_me !== false) return;
        const button = h("button", { class: "btn btn-primary btn-sm follow-back", type: "button" }, "Follow back");
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            await GS.api("PUT", "/users/" + seg(actor.username) + "/follow");
            button.textContent = "Following";
            button.className = "btn btn-secondary btn-sm follow-back";
          } catch (err) {
            GS.toast(err.message);
            button.disabled = false;
          }
        });
        box.replaceChildren(button);
      },
      () => null
    );
  }

  function item(activity) {
    const verb = VERBS[activity.type];
    if (!verb) return null;
    const target = activity.media_id ? GS.photoUrl(activity.media_id) : GS.profileUrl(activity.actor.username);
    const thumbBox = h("a", { class: "activity-thumb", href: target, tabindex: "-1", "aria-hidden": "true" });
    if (activity.media_id) {
      mediaFor(activity.media_id).then((media) => {
        if (media) thumbBox.appendChild(GS.thumbnail(media, "44px"));
        else thumbBox.classList.add("gone");
      });
    } else {
      thumbBox.classList.add("hidden-thumb");
    }
    let said = null;
    if (typeof activity.text === "string" && activity.text) {
      said = h("span", { class: "activity-said" }, GS.richText(activity.text));
    } else if (activity.type === "mention") {
      said = h("span", { class: "activity-said muted" }, "in a caption");
    }
    const verbText = activity.type === "comment" && !said ? "commented on your photo." : verb;
    let side = thumbBox;
    if (activity.type === "follow") {
      side = h("span", { class: "activity-side" });
      followBack(activity.actor, side);
    }
    return h(
      "li",
      { class: "activity-item activity-" + activity.type, dataset: { activityId: activity.id, type: activity.type } },
      h("a", { href: GS.profileUrl(activity.actor.username), tabindex: "-1", "aria-hidden": "true" }, GS.avatar(activity.actor, "md")),
      h(
        "p",
        { class: "activity-text" },
        GS.userLink(activity.actor, "user-link strong"),
        " ",
        activity.media_id ? h("a", { class: "plain-link", href: target }, verbText) : verbText,
        said ? " " : null,
        said,
        " ",
        GS.timeEl(activity.created_at, false, "time muted")
      ),
      side
    );
  }

  // Everything up to the newest item shown is seen: the badge clears.
  let seenUpTo = null;
  async function markSeen(page) {
    const newest = page.items[0];
    if (!newest || (seenUpTo && BigInt(newest.id) <= BigInt(seenUpTo))) return;
    seenUpTo = newest.id;
    try {
      await GS.api("PUT", "/activity/seen", { up_to: newest.id });
      if (GS.refreshUnread) GS.refreshUnread();
    } catch (err) {
      // An older server has no seen mark; the page works without it.
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await GS.requireLogin();
    const list = $("activity-list");
    const pager = GS.pager({
      path: "/activity",
      limit: 20,
      list: list,
      more: $("activity-more"),
      empty: $("activity-empty"),
      spinner: $("activity-spinner"),
      render: item,
      onPage: markSeen,
    });

    // Prepend what arrived since the page opened.
    async function refresh() {
      if (document.hidden) return;
      try {
        const page = await GS.api("GET", "/activity?limit=20");
        const fresh = [];
        for (const activity of page.items) {
          if (pager.state.seen.has(activity.id)) continue;
          pager.state.seen.add(activity.id);
          const node = item(activity);
          if (node) fresh.push(node);
        }
        if (fresh.length) {
          markSeen(page);
          list.prepend(...fresh);
          pager.state.count += fresh.length;
          $("activity-empty").hidden = true;
        }
      } catch (err) {
        // Quietly try again on the next tick.
      }
    }
    setInterval(refresh, 5000);
    document.addEventListener("visibilitychange", refresh);
  });
})();
