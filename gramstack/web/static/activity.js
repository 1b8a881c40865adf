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
    comment: "commented on your photo.",
    follow: "started following you.",
  };

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
    return h(
      "li",
      { class: "activity-item activity-" + activity.type, dataset: { activityId: activity.id, type: activity.type } },
      h("a", { href: GS.profileUrl(activity.actor.username), tabindex: "-1", "aria-hidden": "true" }, GS.avatar(activity.actor, "md")),
      h(
        "p",
        { class: "activity-text" },
        GS.userLink(activity.actor, "user-link strong"),
        " ",
        activity.media_id ? h("a", { class: "plain-link", href: target }, verb) : verb,
        " ",
        GS.timeEl(activity.created_at, false, "time muted")
      ),
      thumbBox
    );
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
