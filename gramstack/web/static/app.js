// gramstack UI core: API client, DOM helpers and shared widgets.
// User text only ever reaches the page through textContent / DOM properties.
(function () {
  "use strict";

  const GS = (window.GS = {});

  // What this server accepts (its settings and the contract's lengths),
  // rendered into every page by the server: checks here follow the server.
  GS.limits = JSON.parse(document.body.dataset.limits || "{}");

  // A byte count as a person reads it: "20 MB", "21.0 MB", "300 KB"
  // (web/routes.py's size_words says the same).
  GS.formatBytes = function (n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    const mb = n / 1024 / 1024;
    return (mb === Math.round(mb) ? mb.toFixed(0) : mb.toFixed(1)) + " MB";
  };

  // "50 megapixels", "1.5 megapixels".
  GS.formatPixels = function (n) {
    const mp = n / 1e6;
    return (mp >= 10 || mp === Math.round(mp) ? mp.toFixed(0) : mp.toFixed(1)) + " megapixels";
  };

  // ---------------------------------------------------------------- API

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)gs_csrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const FALLBACK_MESSAGES = {
    0: "Can’t reach gramstack. Check your connection and try again.",
    401: "Please log in again.",
    403: "You can’t do that.",
    404: "Not found.",
    413: "That file is too large.",
    415: "That file type isn’t supported. Use a JPEG, PNG or WebP image.",
    429: "Too many requests. Please wait a moment and try again.",
    503: "gramstack is temporarily unavailable. Please try again.",
    504: "That took too long. Please try again.",
  };

  // What the fields of the API are called on the page.
  const FIELD_NAMES = {
    username: "Username",
    password: "Password",
    current_password: "Current password",
    new_password: "New password",
    full_name: "Name",
    bio: "Bio",
    caption: "Caption",
    text: "Comment",
    alt_text: "Alt text",
    alt_texts: "Alt text",
    q: "Search",
  };

  // The API's messages are written for developers ("full_name: must be at
  // most 64 characters", "image is 12000x6000, over the limit of ...");
  // these say the same to a person. Other messages are shown as they are.
  function messageForPeople(status, code, message) {
    if (code === "too_large") {
      return "This photo is too large. Photos can be up to " + GS.formatBytes(GS.limits.max_upload_bytes) + " and " + GS.formatPixels(GS.limits.max_image_pixels) + ".";
    }
    if (code === "unsupported_media_type") return "This file isn’t a photo gramstack can read. Choose a JPEG, PNG or WebP image.";
    if (code === "validation_failed") {
      const match = /^([a-z_]+): (.*)$/.exec(message);
      if (match) {
        const field = FIELD_NAMES[match[1]] || match[1].replace(/_/g, " ");
        const rule = match[2].replace(/\.$/, "");
        return field.charAt(0).toUpperCase() + field.slice(1) + " " + rule + ".";
      }
    }
    return message;
  }

  // Builds an ApiError from a status and the parsed JSON body (or null).
  function apiError(status, data, retryAfter) {
    const err = data && typeof data === "object" ? data.error : null;
    let message = err && typeof err.message === "string" && err.message ? err.message : "";
    if (message && err && typeof err.code === "string") message = messageForPeople(status, err.code, message);
    if (!message) message = FALLBACK_MESSAGES[status] || "Something went wrong (" + status + ").";
    if (status === 429 && retryAfter && !/second/.test(message)) {
      message += " Try again in " + retryAfter + " s.";
    }
    return new ApiError(status, (err && err.code) || "http_" + status, message);
  }

  function isMutation(method) {
    return method !== "GET" && method !== "HEAD";
  }

  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({ Accept: "application/json" }, extraHeaders);
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (isMutation(method)) headers["X-CSRF-Token"] = csrfToken();
    let response;
    try {
      response = await fetch("/api/v1" + path, init);
    } catch (e) {
      throw apiError(0, null);
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    if (!response.ok) throw apiError(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  function withQuery(path, params) {
    const query = new URLSearchParams();
    for (const key of Object.keys(params)) {
      if (params[key] !== null && params[key] !== undefined) query.set(key, String(params[key]));
    }
    const text = query.toString();
    return text ? path + (path.includes("?") ? "&" : "?") + text : path;
  }

  function seg(value) {
    return encodeURIComponent(String(value));
  }

  GS.api = api;
  GS.apiError = apiError;
  GS.messageForPeople = messageForPeople;
  GS.ApiError = ApiError;
  GS.csrfToken = csrfToken;
  GS.withQuery = withQuery;
  GS.seg = seg;

  // ---------------------------------------------------------------- DOM

  // h("a", {href: "/x", class: "y", on: {click: fn}}, "text", childNode)
  function h(tag, props) {
    const el = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const value = props[key];
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = value;
        else if (key === "on") {
          for (const name of Object.keys(value)) el.addEventListener(name, value[name]);
        } else if (key === "dataset") Object.assign(el.dataset, value);
        else if (key === "hidden") el.hidden = true;
        else el.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach((c) => append(parent, c));
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    heart:
      "M12 20.5s-8-4.9-8-10.6C4 7 6.1 5 8.6 5c1.5 0 2.7.7 3.4 1.9C12.7 5.7 13.9 5 15.4 5 17.9 5 20 7 20 9.9c0 5.7-8 10.6-8 10.6z",
    comment: "M20.5 11.5a8.5 8.5 0 0 1-12.6 7.4L3.5 20l1.2-4.2A8.5 8.5 0 1 1 20.5 11.5z",
    more: "M5 12h.01M12 12h.01M19 12h.01",
    trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
    stack: "M8 3h11a2 2 0 0 1 2 2v11M4 7h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2z",
  };

  function icon(name, extraClass) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon" + (extraClass ? " " + extraClass : ""));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", name === "more" ? "3" : "2");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    path.setAttribute("fill", "none");
    svg.appendChild(path);
    return svg;
  }

  function $(id) {
    return document.getElementById(id);
  }

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  function showError(el, err) {
    if (!el) return;
    if (!err) {
      el.hidden = true;
      el.textContent = "";
      return;
    }
    el.textContent = err.message || String(err);
    el.hidden = false;
  }

  let toastTimer = 0;
  function toast(message) {
    const el = $("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("toast-show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("toast-show"), 4000);
  }

  GS.h = h;
  GS.icon = icon;
  GS.$ = $;
  GS.show = show;
  GS.showError = showError;
  GS.toast = toast;

  // ---------------------------------------------------------------- formatting

  function plural(n, one, many) {
    return n.toLocaleString("en-US") + " " + (n === 1 ? one : many);
  }

  function compact(n) {
    if (n < 10000) return n.toLocaleString("en-US");
    if (n < 1000000) return (Math.floor(n / 100) / 10).toString().replace(/\.0$/, "") + "K";
    return (Math.floor(n / 100000) / 10).toString().replace(/\.0$/, "") + "M";
  }

  function timeAgo(iso, long) {
    const then = new Date(iso);
    const seconds = Math.max(0, (Date.now() - then.getTime()) / 1000);
    const units = [
      [60, "s", "second"],
      [60, "m", "minute"],
      [24, "h", "hour"],
      [7, "d", "day"],
      [Infinity, "w", "week"],
    ];
    let value = seconds;
    for (const [size, short, word] of units) {
      if (value < size) {
        const n = Math.floor(value);
        if (short === "s" && n < 10) return long ? "just now" : "now";
        if (short === "w" && n > 52) break;
        return long ? plural(n, word, word + "s") + " ago" : n + short;
      }
      value /= size;
    }
    return then.toLocaleDateString("en-US", { month: "long", day: "numeric", year: "numeric" });
  }

  function timeEl(iso, long, cls) {
    return h(
      "time",
      { class: cls || "time", datetime: iso, title: new Date(iso).toLocaleString("en-US") },
      timeAgo(iso, long)
    );
  }

  GS.plural = plural;
  GS.compact = compact;
  GS.timeAgo = timeAgo;
  GS.timeEl = timeEl;

  // ---------------------------------------------------------------- people

  function hashOf(text) {
    let hash = 0;
    for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(hash);
  }

  // From the username only: it is the one name every API object carries, so
  // the same person gets the same avatar on every page.
  function initials(user) {
    const name = String(user.username || "?");
    const parts = name.split(/[._]+/).filter(Boolean);
    const letters = (parts[0] || name).replace(/[^a-z0-9]/gi, "");
    if (parts.length > 1 && /^[a-z]/i.test(parts[1])) return (letters[0] + parts[1][0]).toUpperCase();
    return (letters.slice(0, 2) || "?").toUpperCase();
  }

  // The user's photo where they set one (api.md second part: `avatar`),
  // else coloured initials.
  function fillAvatar(el, user) {
    for (const cls of Array.from(el.classList)) if (/^avatar-c\d$/.test(cls)) el.classList.remove(cls);
    if (user.avatar && user.avatar.thumbnail) {
      const img = h("img", { class: "avatar-img", src: user.avatar.thumbnail, srcset: user.avatar.thumbnail + " 150w, " + user.avatar.standard + " 320w", sizes: el.classList.contains("avatar-xl") ? "150px" : "56px", alt: "" });
      el.replaceChildren(img);
      el.classList.add("has-photo");
      return el;
    }
    el.classList.remove("has-photo");
    el.textContent = initials(user);
    el.classList.add("avatar-c" + (hashOf(user.username || "") % 8));
    return el;
  }

  // Posts, comments and activity name people by {id, username} only; their
  // photo comes from their profile, asked once per page view and per person.
  const profiles = new Map();
  function profileOf(username) {
    if (!profiles.has(username)) {
      profiles.set(username, api("GET", "/users/" + seg(username)).catch(() => null));
    }
    return profiles.get(username);
  }

  function avatar(user, size) {
    const el = fillAvatar(h("span", { class: "avatar avatar-" + (size || "sm"), "aria-hidden": "true" }), user);
    if (!("avatar" in user) && user.username) {
      profileOf(user.username).then((full) => {
        if (full && full.avatar) fillAvatar(el, full);
      });
    }
    return el;
  }

  function profileUrl(username) {
    return "/u/" + seg(username);
  }

  function photoUrl(mediaId) {
    return "/p/" + seg(mediaId);
  }

  function userLink(user, cls) {
    return h("a", { class: cls || "user-link", href: profileUrl(user.username) }, user.username);
  }

  GS.avatar = avatar;
  GS.fillAvatar = fillAvatar;
  GS.initials = initials;
  GS.profileUrl = profileUrl;
  GS.photoUrl = photoUrl;
  GS.userLink = userLink;

  // ---------------------------------------------------------------- session

  // No gs_csrf cookie means no session cookie either: skip the round trip.
  GS.me = !csrfToken()
    ? Promise.resolve(null)
    : api("GET", "/me").catch((err) => {
        if (err.status !== 401) toast(err.message);
        return null;
      });

  function setupNav(me) {
    show(document.querySelector(".nav-in"), !!me);
    show(document.querySelector(".nav-out"), !me);
    if (!me) return;
    const link = document.querySelector(".nav-profile");
    link.href = profileUrl(me.username);
    link.setAttribute("aria-label", "Profile (" + me.username + ")");
    fillAvatar(link.querySelector(".avatar"), me);
    const profile = document.getElementById("profile");
    if (profile && profile.dataset.username === me.username) link.setAttribute("aria-current", "page");
  }

  async function logout() {
    try {
      await api("DELETE", "/sessions/current");
    } catch (err) {
      if (err.status !== 401) {
        toast(err.message);
        return;
      }
    }
    location.assign("/");
  }

  // Resolves to the signed-in user, or sends the browser to the login page.
  GS.requireLogin = async function () {
    const me = await GS.me;
    if (!me) {
      location.replace(withQuery("/login", { next: location.pathname + location.search }));
      return new Promise(() => {});
    }
    return me;
  };

  // Only a path on this site: no open redirect through ?next=.
  GS.safeNext = function (value) {
    if (typeof value !== "string" || !value.startsWith("/")) return "/";
    try {
      const url = new URL(value, location.origin);
      return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
    } catch (e) {
      return "/";
    }
  };

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.querySelector(".nav-logout");
    if (button) button.addEventListener("click", logout);
    GS.me.then((me) => {
      setupNav(me);
      if (me) setupUnread();
    });
  });

  // ---------------------------------------------------------------- search

  // Live search of people and tags under an input: results as the person
  // types (debounced, stale answers dropped), arrow keys to move, Enter to
  // open. Enter on a plain username with no result chosen opens that profile.
  GS.searchBox = function (input, list) {
    let timer = 0;
    let asked = 0;
    let active = -1;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      const options = Array.from(list.querySelectorAll("[role=option]"));
      options.forEach((el, i) => el.setAttribute("aria-selected", String(i === index)));
      active = index;
      if (options[index]) input.setAttribute("aria-activedescendant", options[index].id);
    }

    function option(id, href, content) {
      return h("li", { role: "option", id: id, class: "search-option", "aria-selected": "false" }, h("a", { class: "search-link", href: href, tabindex: "-1" }, content));
    }

    async function run() {
      const raw = input.value.trim();
      const ticket = ++asked;
      if (!raw) return close();
      const tagOnly = raw.startsWith("#");
      const q = raw.replace(/^[#@]/, "");
      if (!q) return close();
      const users = tagOnly || !/^[a-z0-9._]{1,30}$/i.test(q)
        ? Promise.resolve({ items: [] })
        : api("GET", withQuery("/search/users", { q: q.toLowerCase(), limit: 6 })).catch(() => ({ items: [] }));
      const tags = raw.startsWith("@") || q.length > 100
        ? Promise.resolve({ items: [] })
        : api("GET", withQuery("/search/tags", { q: q.toLowerCase(), limit: 4 })).catch(() => ({ items: [] }));
      const [userPage, tagPage] = await Promise.all([users, tags]);
      if (ticket !== asked) return;
      list.replaceChildren();
      userPage.items.forEach((user, i) =>
        list.appendChild(
          option("search-user-" + i, profileUrl(user.username), [
            avatar(user, "md"),
            h("span", { class: "person-names" }, h("span", { class: "person-user" }, user.username), h("span", { class: "person-full muted" }, user.full_name || plural(user.follower_count, "follower", "followers"))),
          ])
        )
      );
      tagPage.items.forEach((tag, i) =>
        list.appendChild(
          option("search-tag-" + i, GS.tagUrl(tag.name), [
            h("span", { class: "avatar avatar-md tag-avatar", "aria-hidden": "true" }, "#"),
            h("span", { class: "person-names" }, h("span", { class: "person-user" }, "#" + tag.name), h("span", { class: "person-full muted" }, plural(tag.media_count, "post", "posts"))),
          ])
        )
      );
      if (!list.children.length) list.appendChild(h("li", { class: "search-none muted", role: "presentation" }, "No results for “" + raw + "”"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(run, 150);
    });
    input.addEventListener("keydown", (event) => {
      const count = list.querySelectorAll("[role=option]").length;
      if (event.key === "ArrowDown" && count) {
        event.preventDefault();
        mark((active + 1) % count);
      } else if (event.key === "ArrowUp" && count) {
        event.preventDefault();
        mark((active - 1 + count) % count);
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Enter") {
        event.preventDefault();
        const chosen = list.querySelectorAll("[role=option] a")[active];
        const name = input.value.trim().replace(/^@/, "").toLowerCase();
        if (chosen) location.assign(chosen.getAttribute("href"));
        else if (input.value.trim().startsWith("#") && name.length > 1) location.assign(GS.tagUrl(name.slice(1)));
        else if (/^[a-z0-9._]{1,30}$/.test(name)) location.assign(profileUrl(name));
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 200));
    input.addEventListener("focus", () => {
      if (input.value.trim()) run();
    });
  };

  // ---------------------------------------------------------------- unread

  // The number on the Activity icon, kept fresh without a reload: asked now,
  // every 10 s while the tab is visible, and whenever the tab or the window
  // comes back (a person returning to the tab sees the count at once). The
  // answer is a cached read, so the poll costs the server little.
  const UNREAD_POLL_MS = 10000;
  function setupUnread() {
    const link = document.querySelector('.nav-link[href="/activity"]');
    if (!link) return;
    const badge = h("span", { class: "badge", hidden: true });
    link.appendChild(badge);
    let asked = 0;
    async function refresh() {
      if (document.hidden) return;
      // Only the newest question may set the badge: an answer that was
      // asked before the seen mark moved must not bring the old count back.
      const ticket = ++asked;
      try {
        const { count } = await api("GET", "/activity/unread");
        if (ticket === asked) GS.setUnread(count);
      } catch (err) {
        // The badge waits for the next tick (or an older server without it).
      }
    }
    GS.setUnread = function (count) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = !(count > 0);
      link.setAttribute("aria-label", count > 0 ? "Activity, " + count + " new" : "Activity");
    };
    GS.refreshUnread = refresh;
    refresh();
    setInterval(refresh, UNREAD_POLL_MS);
    document.addEventListener("visibilitychange", refresh);
    window.addEventListener("focus", refresh);
    window.addEventListener("online", refresh);
    // A page restored from the back-forward cache shows an old count.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) refresh();
    });
  }

  // ---------------------------------------------------------------- pager

  // Loads cursor pages into `list` as the user scrolls (IntersectionObserver
  // on the "Load more" button, which also works by keyboard).
  GS.pager = function (options) {
    const state = { cursor: null, done: false, loading: false, seen: new Set(), count: 0 };
    const more = options.more;
    const moreLabel = more ? more.textContent : "";
    const spinner = options.spinner;
    let observer = null;

    async function loadNext() {
      if (state.loading || state.done) return;
      state.loading = true;
      let failed = false;
      let firstNew = null;
      const hadFocus = !!more && document.activeElement === more;
      if (more) more.setAttribute("aria-disabled", "true");
      show(spinner, true);
      if (options.list) options.list.setAttribute("aria-busy", "true");
      try {
        const first = options.firstPage;
        options.firstPage = null;
        const page = await (first ||
          api("GET", withQuery(options.path, { limit: options.limit || 12, cursor: state.cursor })));
        for (const item of page.items) {
          if (state.seen.has(item.id)) continue;
          state.seen.add(item.id);
          const node = options.render(item);
          if (node) {
            if (!firstNew) firstNew = node;
            options.list.appendChild(node);
            state.count++;
          }
        }
        state.cursor = page.next_cursor;
        state.done = !page.next_cursor;
        if (options.onPage) options.onPage(page, state);
      } catch (err) {
        failed = true;
        if (options.onError) options.onError(err);
        else toast(err.message);
      } finally {
        state.loading = false;
        show(spinner, false);
        if (options.list) options.list.removeAttribute("aria-busy");
        if (more) more.removeAttribute("aria-disabled");
      }
      // Keyboard users who pressed "Load more" continue at the first new item.
      if (hadFocus && firstNew) {
        const target = firstNew.matches("a, button") ? firstNew : firstNew.querySelector("a[href]:not([tabindex='-1']), button");
        if (target) target.focus();
      }
      show(options.empty, state.done && state.count === 0 && !failed);
      show(options.end, state.done && state.count > 0);
      show(more, !state.done);
      if (failed) {
        // No automatic retry loop: the button becomes "Try again".
        if (more) more.textContent = "Try again";
        if (observer) observer.disconnect();
        observer = null;
        return;
      }
      if (more) more.textContent = moreLabel;
      if (state.done) {
        if (observer) observer.disconnect();
      } else if (observer) {
        // Still on screen after a short page? observe() reports again.
        observer.unobserve(more);
        observer.observe(more);
      }
    }

    if (more) {
      more.addEventListener("click", loadNext);
      if ("IntersectionObserver" in window && options.auto !== false) {
        observer = new IntersectionObserver(
          (entries) => {
            if (entries.some((e) => e.isIntersecting)) loadNext();
          },
          { rootMargin: "800px 0px" }
        );
        observer.observe(more);
      }
    }
    loadNext();
    return { loadNext: loadNext, state: state };
  };

  // ---------------------------------------------------------------- likes

  // Heart button + count with an optimistic toggle. Clicks while a request
  // is in flight only change the wanted state; the last one wins.
  GS.likeControl = function (media, countEl, options) {
    options = options || {};
    const button = h(
      "button",
      { class: "icon-btn heart", type: "button", "aria-pressed": String(!!media.liked_by_me), "aria-label": "Like" },
      icon("heart")
    );
    let confirmed = { liked: !!media.liked_by_me, count: media.like_count };
    let wanted = confirmed.liked;
    let shown = Object.assign({}, confirmed);
    let busy = false;

    function render(state, animate) {
      shown = state;
      button.setAttribute("aria-pressed", String(state.liked));
      if (animate && state.liked) {
        button.classList.remove("pop");
        void button.offsetWidth;
        button.classList.add("pop");
      }
      if (countEl) {
        countEl.textContent = state.count > 0 ? plural(state.count, "like", "likes") : "Be the first to like this";
        countEl.dataset.count = String(state.count);
      }
      if (options.onChange) options.onChange(state);
    }

    async function sync() {
      if (busy) return;
      busy = true;
      try {
        while (wanted !== confirmed.liked) {
          const target = wanted;
          const result = await api(target ? "PUT" : "DELETE", "/media/" + seg(media.id) + "/like");
          confirmed = { liked: result.liked, count: result.like_count };
          if (wanted === confirmed.liked) render(confirmed, false);
        }
      } catch (err) {
        wanted = confirmed.liked;
        render(confirmed, false);
        toast(err.status === 401 ? "Log in to like photos." : err.message);
      } finally {
        busy = false;
      }
    }

    function set(liked) {
      if (liked === wanted) return;
      wanted = liked;
      const delta = liked === confirmed.liked ? 0 : liked ? 1 : -1;
      render({ liked: liked, count: Math.max(0, confirmed.count + delta) }, true);
      sync();
    }

    button.addEventListener("click", () => set(!wanted));
    render(confirmed, false);
    return { button: button, like: () => set(true), state: () => shown };
  };

  // Big heart that pops over a photo on double-click.
  GS.doubleTapLike = function (target, control) {
    const burst = h("span", { class: "burst", "aria-hidden": "true" }, icon("heart"));
    target.appendChild(burst);
    target.addEventListener("dblclick", (event) => {
      event.preventDefault();
      control.like();
      burst.classList.remove("burst-go");
      void burst.offsetWidth;
      burst.classList.add("burst-go");
    });
  };

  // ---------------------------------------------------------------- images

  // Candidates for srcset: thumbnail (<=150 px), medium (<=640 px, API
  // version 1 second part; absent before it) and standard (<=1080 px), each
  // with its real width, so a grid cell loads the medium and not the 1080.
  function srcset(photo) {
    const long = Math.max(photo.width, photo.height);
    const widthAt = (limit) => Math.max(1, Math.round(photo.width * Math.min(1, limit / long)));
    const candidates = [[photo.images.thumbnail, widthAt(150)]];
    if (photo.images.medium) candidates.push([photo.images.medium, widthAt(640)]);
    candidates.push([photo.images.standard, photo.width]);
    const seen = new Set();
    return candidates
      .filter(([, w]) => (seen.has(w) ? false : seen.add(w)))
      .map(([url, w]) => url + " " + w + "w")
      .join(", ");
  }

  function altOf(photo, media) {
    if (photo.alt_text) return photo.alt_text;
    return media.caption ? media.caption.slice(0, 300) : "Photo by " + media.owner.username;
  }

  // One photo of a post (a version-1 media object is its own first photo).
  function photoImg(photo, media, options) {
    const img = h("img", {
      class: options.class || "photo",
      src: photo.images.standard,
      srcset: srcset(photo),
      sizes: options.sizes || "(max-width: 735px) 100vw, 470px",
      width: photo.width,
      height: photo.height,
      alt: altOf(photo, media),
      loading: options.eager ? "eager" : "lazy",
      decoding: "async",
    });
    if (options.eager) img.setAttribute("fetchpriority", "high");
    img.addEventListener("error", () => img.classList.add("img-broken"), { once: true });
    return img;
  }

  function photosOf(media) {
    return Array.isArray(media.photos) && media.photos.length ? media.photos : [media];
  }

  // A post's photos: one image, or a carousel that swipes (scroll snap),
  // with previous/next buttons and dots.
  GS.image = function (media, options) {
    options = options || {};
    const photos = photosOf(media);
    if (photos.length < 2) return photoImg(photos[0], media, options);
    const track = h("div", { class: "carousel-track", tabindex: "0", "aria-label": "Photos, swipe or use the arrow keys" });
    photos.forEach((photo, i) => {
      track.appendChild(
        h(
          "div",
          { class: "carousel-slide", role: "group", "aria-roledescription": "slide", "aria-label": i + 1 + " of " + photos.length },
          photoImg(photo, media, { eager: options.eager && i === 0, sizes: options.sizes, class: options.class })
        )
      );
    });
    const dots = h("div", { class: "carousel-dots", "aria-hidden": "true" });
    photos.forEach(() => dots.appendChild(h("span", { class: "carousel-dot" })));
    const prev = h("button", { class: "carousel-btn carousel-prev", type: "button", "aria-label": "Previous photo" }, "‹");
    const next = h("button", { class: "carousel-btn carousel-next", type: "button", "aria-label": "Next photo" }, "›");
    const box = h("div", { class: "carousel", "aria-roledescription": "carousel", dataset: { count: String(photos.length) } }, track, prev, next, dots);
    let current = -1;
    function update() {
      const index = Math.round(track.scrollLeft / Math.max(1, track.clientWidth));
      if (index === current) return;
      current = index;
      box.dataset.index = String(index);
      Array.from(dots.children).forEach((dot, i) => dot.classList.toggle("carousel-dot-on", i === index));
      prev.hidden = index <= 0;
      next.hidden = index >= photos.length - 1;
    }
    function go(delta) {
      const index = Math.max(0, Math.min(photos.length - 1, current + delta));
      track.scrollTo({ left: index * track.clientWidth, behavior: "smooth" });
    }
    prev.addEventListener("click", (event) => { event.stopPropagation(); go(-1); });
    next.addEventListener("click", (event) => { event.stopPropagation(); go(1); });
    track.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") go(-1);
      else if (event.key === "ArrowRight") go(1);
    });
    track.addEventListener("scroll", () => requestAnimationFrame(update), { passive: true });
    update();
    return box;
  };

  GS.thumbnail = function (media, sizes) {
    const scale = Math.min(1, 150 / Math.max(media.width, media.height));
    const img = h("img", {
      class: "thumb",
      src: media.images.thumbnail,
      srcset: srcset(media),
      sizes: sizes || "(max-width: 735px) 33vw, 293px",
      width: Math.max(1, Math.round(media.width * scale)),
      height: Math.max(1, Math.round(media.height * scale)),
      alt: altOf(media, media),
      loading: "lazy",
      decoding: "async",
    });
    img.addEventListener("error", () => img.classList.add("img-broken"), { once: true });
    return img;
  };

  GS.srcset = srcset;

  // A square of a photo grid (profile, explore, tag pages).
  GS.gridTile = function (media) {
    const stats = h(
      "span",
      { class: "tile-stats", "aria-hidden": "true" },
      h("span", null, icon("heart"), compact(media.like_count)),
      h("span", null, icon("comment"), compact(media.comment_count))
    );
    const count = photosOf(media).length;
    const label = (media.caption ? media.caption.slice(0, 80) : "Photo") + (count > 1 ? ", " + count + " photos" : "") + ", " + plural(media.like_count, "like", "likes") + ", " + plural(media.comment_count, "comment", "comments");
    const multi = count > 1 ? h("span", { class: "grid-multi", "aria-hidden": "true" }, icon("stack")) : null;
    return h("li", { class: "grid-item" }, h("a", { class: "grid-link", href: photoUrl(media.id), "aria-label": label }, GS.thumbnail(media), multi, stats));
  };

  // ---------------------------------------------------------------- rich text

  // Hashtags and mentions as the API parses them (api.md, second part):
  // '#' + 1..100 letters, digits or '_'; '@' at the start or after a
  // character that is not a letter, digit, '_' or '.', then a username
  // (a trailing '.' ends the sentence). Everything else stays plain text.
  const RICH = /#([\p{L}\p{N}_]+)|(^|[^\p{L}\p{N}_.])@([a-z0-9._]{1,30})/giu;

  // A text node or link per piece. `mentions`, when given, is the list of
  // usernames the API found (existing users); other @words stay text.
  GS.richText = function (text, mentions) {
    const known = Array.isArray(mentions) ? new Set(mentions.map((m) => m.toLowerCase())) : null;
    const out = document.createDocumentFragment();
    let last = 0;
    RICH.lastIndex = 0;
    let match;
    while ((match = RICH.exec(text)) !== null) {
      let start = match.index;
      let link = null;
      let end = RICH.lastIndex;
      if (match[1] !== undefined) {
        const after = text.slice(end).match(/^[\p{L}\p{N}_]/u);
        if (match[1].length <= 100 && !after) {
          link = h("a", { class: "tag-link", href: GS.tagUrl(match[1].toLowerCase()) }, "#" + match[1]);
        }
      } else {
        start += match[2].length;
        const name = match[3].replace(/\.+$/, "");
        end = start + 1 + name.length;
        RICH.lastIndex = end;
        if (name && (!known || known.has(name.toLowerCase()))) {
          link = h("a", { class: "mention-link", href: profileUrl(name.toLowerCase()) }, "@" + name);
        }
      }
      if (!link) continue;
      if (start > last) out.appendChild(document.createTextNode(text.slice(last, start)));
      out.appendChild(link);
      last = end;
    }
    if (last < text.length) out.appendChild(document.createTextNode(text.slice(last)));
    return out;
  };

  GS.tagUrl = function (name) {
    return "/explore/tags/" + seg(name);
  };

  // ---------------------------------------------------------------- dialogs

  GS.peopleDialog = function (title, path, emptyText) {
    const dialog = $("people-dialog");
    const list = $("people-list");
    $("people-title").textContent = title;
    $("people-empty").textContent = emptyText || "Nobody yet.";
    list.replaceChildren();
    const more = $("people-more");
    const fresh = more.cloneNode(true);
    more.replaceWith(fresh);
    dialog.showModal();
    GS.pager({
      path: path,
      limit: 20,
      list: list,
      more: fresh,
      empty: $("people-empty"),
      spinner: $("people-spinner"),
      auto: false,
      render: (user) =>
        h(
          "li",
          { class: "person" },
          h(
            "a",
            { class: "person-link", href: profileUrl(user.username) },
            avatar(user, "md"),
            h("span", { class: "person-names" }, h("span", { class: "person-user" }, user.username), user.full_name ? h("span", { class: "person-full muted" }, user.full_name) : null)
          )
        ),
    });
  };

  GS.confirm = function (title, text, okLabel) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel || "Delete";
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const dialog of document.querySelectorAll("dialog")) {
      const close = dialog.querySelector(".dialog-close");
      if (close) close.addEventListener("click", () => dialog.close());
      // Click on the backdrop closes.
      dialog.addEventListener("click", (event) => {
        if (event.target === dialog) dialog.close();
      });
    }
  });
})();
