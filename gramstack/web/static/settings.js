// Settings: profile photo (with a preview of the circle crop the server
// makes), name and bio, password, and deleting the account.
(function () {
  "use strict";
  const { $ } = GS;

  const TYPES = ["image/jpeg", "image/png", "image/webp"];
  const MAX_BYTES = GS.limits.max_upload_bytes;
  let me = null;
  let avatarFile = null;
  let previewUrl = null;

  function renderAvatar() {
    GS.fillAvatar($("avatar-current"), me);
    $("avatar-remove").hidden = !me.avatar;
    for (const el of document.querySelectorAll(".nav-profile .avatar")) GS.fillAvatar(el, me);
  }

  function setupAvatar() {
    const input = $("avatar-file");
    input.addEventListener("change", () => {
      const file = input.files[0];
      input.value = "";
      GS.showError($("avatar-error"), null);
      if (!file) return;
      if (file.type && !TYPES.includes(file.type)) {
        GS.showError($("avatar-error"), new Error("“" + file.name + "” isn’t a JPEG, PNG or WebP photo. Choose one of those."));
        return;
      }
      if (file.size > MAX_BYTES) {
        GS.showError($("avatar-error"), new Error("“" + file.name + "” is larger than " + GS.formatBytes(MAX_BYTES) + ". Choose a smaller photo."));
        return;
      }
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = URL.createObjectURL(file);
      avatarFile = file;
      // object-fit: cover on a square circle shows the centre square, the
      // same crop the server makes.
      $("avatar-preview").src = previewUrl;
      $("avatar-crop").hidden = false;
      $("avatar-current").hidden = true;
      $("avatar-save").hidden = false;
    });
    $("avatar-preview").addEventListener("error", () => {
      GS.showError($("avatar-error"), new Error("This file isn’t a photo gramstack can read. Choose a JPEG, PNG or WebP image."));
      $("avatar-save").hidden = true;
    });
    $("avatar-save").addEventListener("click", async () => {
      if (!avatarFile) return;
      const button = $("avatar-save");
      button.disabled = true;
      button.textContent = "Saving…";
      const data = new FormData();
      data.append("file", avatarFile, avatarFile.name || "avatar");
      try {
        const response = await fetch("/api/v1/me/avatar", {
          method: "PUT",
          body: data,
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": GS.csrfToken() },
        });
        const body = await response.json().catch(() => null);
        if (!response.ok) throw GS.apiError(response.status, body, response.headers.get("Retry-After"));
        me = body;
        avatarFile = null;
        $("avatar-crop").hidden = true;
        $("avatar-current").hidden = false;
        button.hidden = true;
        renderAvatar();
        GS.toast("Profile photo saved.");
      } catch (err) {
        GS.showError($("avatar-error"), err.status === undefined ? GS.apiError(0, null) : err);
      } finally {
        button.disabled = false;
        button.textContent = "Save photo";
      }
    });
    $("avatar-remove").addEventListener("click", async () => {
      try {
        me = await GS.api("DELETE", "/me/avatar");
        renderAvatar();
        GS.toast("Profile photo removed.");
      } catch (err) {
        GS.showError($("avatar-error"), err);
      }
    });
  }

  function setupProfile() {
    const form = $("profile-form");
    form.full_name.value = me.full_name || "";
    form.bio.value = me.bio || "";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const save = form.querySelector('button[type="submit"]');
      save.disabled = true;
      GS.showError($("profile-error"), null);
      try {
        me = await GS.api("PATCH", "/me", { full_name: form.full_name.value.trim(), bio: form.bio.value.trim() });
        GS.toast("Profile saved.");
      } catch (err) {
        GS.showError($("profile-error"), err);
      } finally {
        save.disabled = false;
      }
    });
  }

  function setupPassword() {
    const form = $("password-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      GS.showError($("password-error"), null);
      const current = form.current_password.value;
      const next = form.new_password.value;
      if (next.length < 8) {
        GS.showError($("password-error"), new Error("The new password needs at least 8 characters."));
        return;
      }
      const save = form.querySelector('button[type="submit"]');
      save.disabled = true;
      try {
        await GS.api("PUT", "/me/password", { current_password: current, new_password: next });
        form.reset();
        GS.toast("Password changed. Other devices have been logged out.");
      } catch (err) {
        GS.showError($("password-error"), err.status === 401 ? new Error("The current password is wrong.") : err);
      } finally {
        save.disabled = false;
      }
    });
  }

  function setupDelete() {
    const form = $("delete-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      GS.showError($("delete-error"), null);
      const password = form.password.value;
      if (!password) {
        GS.showError($("delete-error"), new Error("Enter your password to delete your account."));
        return;
      }
      const sure = await GS.confirm(
        "Delete your account?",
        "@" + me.username + ", your photos, comments, likes and follows will be removed for good.",
        "Delete account"
      );
      if (!sure) return;
      try {
        await GS.api("DELETE", "/me", { password: password });
        location.assign("/");
      } catch (err) {
        GS.showError($("delete-error"), err.status === 401 ? new Error("The password is wrong. Your account was not deleted.") : err);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    me = await GS.requireLogin();
    renderAvatar();
    setupAvatar();
    setupProfile();
    setupPassword();
    setupDelete();
    $("settings").removeAttribute("aria-busy");
  });
})();
