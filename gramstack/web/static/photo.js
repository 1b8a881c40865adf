// Photo page: the picture, optimistic heart, likers, comments (add, delete).
(function () {
  "use strict";
  const { h, $, seg, icon } = GS;

  let media = null;
  let me = null;
  let comments = null;

  function canDelete(comment) {
    return !!me && (comment.author.id === me.id || media.owner.id === me.id);
  }

  function commentItem(comment) {
    const li = h(
      "li",
      { class: "comment", dataset: { commentId: comment.id } },
      GS.avatar(comment.author, "sm"),
      h(
        "div",
        { class: "comment-body" },
        h("p", { class: "comment-text" }, GS.userLink(comment.author, "user-link strong"), " ", h("span", { class: "text" }, GS.richText(comment.text))),
        h("p", { class: "comment-meta" }, GS.timeEl(comment.created_at))
      )
    );
    if (canDelete(comment)) {
      const del = h("button", { class: "icon-btn icon-btn-sm comment-delete", type: "button", "aria-label": "Delete comment" }, icon("trash", "icon-sm"));
      del.addEventListener("click", () => deleteComment(comment, li, del));
      li.appendChild(del);
    }
    return li;
  }

  async function deleteComment(comment, li, button) {
    button.disabled = true;
    const next = li.nextElementSibling || li.previousElementSibling;
    li.hidden = true;
    try {
      await GS.api("DELETE", "/comments/" + seg(comment.id));
      li.remove();
      media.comment_count = Math.max(0, media.comment_count - 1);
      GS.toast("Comment deleted.");
      const focusTarget = next && next.querySelector("button, a");
      (focusTarget || $("comment-input")).focus();
    } catch (err) {
      li.hidden = false;
      button.disabled = false;
      GS.toast(err.status === 404 ? "That comment is already gone." : err.message);
      if (err.status === 404) li.remove();
    }
  }

  function setupCommentForm() {
    const form = $("comment-form");
    const input = $("comment-input");
    const submit = $("comment-submit");
    form.hidden = false;
    input.addEventListener("input", () => {
      submit.disabled = input.value.trim() === "";
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      submit.disabled = true;
      input.disabled = true;
      GS.showError($("comment-error"), null);
      try {
        const comment = await GS.api("POST", "/media/" + seg(media.id) + "/comments", { text: text });
        comments.state.seen.add(comment.id);
        $("comments").appendChild(commentItem(comment));
        media.comment_count += 1;
        input.value = "";
        const wrap = $("pd-comments-wrap");
        wrap.scrollTop = wrap.scrollHeight;
      } catch (err) {
        GS.showError($("comment-error"), err);
      } finally {
        input.disabled = false;
        submit.disabled = input.value.trim() === "";
        input.focus();
      }
    });
    if (location.hash === "#comment") input.focus();
  }

  async function deletePost() {
    const ok = await GS.confirm("Delete post?", "This removes the photo, its likes and comments for everyone.", "Delete");
    if (!ok) return;
    try {
      await GS.api("DELETE", "/media/" + seg(media.id));
      location.assign(GS.profileUrl(media.owner.username));
    } catch (err) {
      GS.toast(err.message);
    }
  }

  // "• Follow" next to the owner's name, when I don't follow them yet.
  async function headFollow(head) {
    let owner;
    try {
      owner = await GS.api("GET", "/users/" + seg(media.owner.username));
    } catch (err) {
      return;
    }
    if (owner.followed_by_me) return;
    const button = h("button", { class: "link-btn head-follow", type: "button" }, "Follow");
    button.addEventListener("click", async () => {
      const following = button.classList.contains("is-following");
      button.disabled = true;
      try {
        await GS.api(following ? "DELETE" : "PUT", "/users/" + seg(owner.username) + "/follow");
        button.classList.toggle("is-following", !following);
        button.textContent = following ? "Follow" : "Following";
      } catch (err) {
        GS.toast(err.message);
      } finally {
        button.disabled = false;
      }
    });
    head.append(h("span", { class: "dot muted", "aria-hidden": "true" }, "•"), button);
  }

  function renderCaption() {
    const captionBox = $("pd-caption");
    const mine = me && me.id === media.owner.id;
    const edit = mine ? h("button", { class: "link-btn muted small caption-edit", type: "button" }, media.caption ? "Edit" : "Add a caption") : null;
    if (edit) edit.addEventListener("click", editCaption);
    const edited = media.edited_at ? h("span", { class: "muted small" }, " · Edited") : null;
    if (media.caption) {
      captionBox.replaceChildren(
        GS.avatar(media.owner, "sm"),
        h(
          "div",
          { class: "comment-body" },
          h("h1", { class: "caption pd-caption-text" }, GS.userLink(media.owner, "user-link strong"), " ", h("span", { class: "caption-text" }, GS.richText(media.caption, media.mentions))),
          h("p", { class: "comment-meta" }, GS.timeEl(media.created_at), edited, edit ? " · " : null, edit)
        )
      );
    } else {
      captionBox.replaceChildren(h("h1", { class: "visually-hidden" }, "Photo by " + media.owner.username), edit);
    }
  }

  // The owner edits the caption in place (PATCH /media/{id}).
  function editCaption() {
    const box = $("pd-caption");
    const area = h("textarea", { class: "caption-input", id: "caption-input", rows: "4", maxlength: String(GS.limits.max_caption), "aria-label": "Caption" });
    area.value = media.caption || "";
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const save = h("button", { class: "btn btn-primary btn-sm", type: "submit" }, "Save");
    const cancel = h("button", { class: "btn btn-secondary btn-sm", type: "button" }, "Cancel");
    const form = h("form", { class: "caption-form" }, area, error, h("div", { class: "caption-form-actions" }, cancel, save));
    cancel.addEventListener("click", renderCaption);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      GS.showError(error, null);
      try {
        media = await GS.api("PATCH", "/media/" + seg(media.id), { caption: area.value.trim() });
        renderCaption();
        GS.toast("Caption saved.");
      } catch (err) {
        GS.showError(error, err);
        save.disabled = false;
      }
    });
    box.replaceChildren(form);
    area.focus();
  }

  function render() {
    document.title = (media.caption ? media.owner.username + ": “" + media.caption.slice(0, 60) + "”" : "Photo by " + media.owner.username) + " · gramstack";
    const figure = $("pd-media");
    figure.replaceChildren(GS.image(media, { eager: true }));

    const head = $("pd-head");
    head.replaceChildren(
      h("a", { class: "post-owner", href: GS.profileUrl(media.owner.username), tabindex: "-1", "aria-hidden": "true" }, GS.avatar(media.owner, "sm")),
      GS.userLink(media.owner, "user-link strong")
    );
    if (me && me.id !== media.owner.id) headFollow(head);
    if (me && me.id === media.owner.id) {
      const del = h("button", { class: "link-btn danger small post-delete", type: "button" }, "Delete post");
      del.addEventListener("click", deletePost);
      head.appendChild(del);
    }

    renderCaption();

    const count = h("button", { class: "like-count link-btn strong", type: "button" });
    count.addEventListener("click", () => GS.peopleDialog("Likes", "/media/" + seg(media.id) + "/likers", "No likes yet."));
    const actions = $("pd-actions");
    if (me) {
      const control = GS.likeControl(media, count);
      GS.doubleTapLike(figure, control);
      const commentBtn = h("button", { class: "icon-btn", type: "button", "aria-label": "Comment" }, icon("comment"));
      commentBtn.addEventListener("click", () => $("comment-input").focus());
      actions.replaceChildren(h("div", { class: "post-actions" }, control.button, commentBtn), count, GS.timeEl(media.created_at, true, "time muted small upper"));
      setupCommentForm();
    } else {
      count.textContent = media.like_count > 0 ? GS.plural(media.like_count, "like", "likes") : "No likes yet";
      actions.replaceChildren(count, GS.timeEl(media.created_at, true, "time muted small upper"));
      const login = $("comment-login");
      login.querySelector("a").href = GS.withQuery("/login", { next: location.pathname });
      login.hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const post = $("post");
    const id = post.dataset.mediaId;
    me = await GS.me;
    try {
      media = await GS.api("GET", "/media/" + seg(id));
    } catch (err) {
      if (err.status === 404) {
        post.hidden = true;
        $("post-missing").hidden = false;
        document.title = "Post not found · gramstack";
      } else {
        GS.toast(err.message);
      }
      return;
    }
    render();
    post.removeAttribute("aria-busy");
    const more = $("comments-more");
    comments = GS.pager({
      path: "/media/" + seg(media.id) + "/comments",
      limit: 20,
      list: $("comments"),
      more: more,
      auto: false,
      render: commentItem,
    });
  });
})();
