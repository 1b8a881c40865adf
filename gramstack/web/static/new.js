// New post: pick or drop a photo, preview it from an object URL, upload it
// with XMLHttpRequest so the progress bar can follow the bytes.
(function () {
  "use strict";
  const { $ } = GS;

  const TYPES = ["image/jpeg", "image/png", "image/webp"];
  let file = null;
  let previewUrl = null;

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function choose(picked) {
    file = picked || null;
    GS.showError($("form-error"), null);
    const preview = $("preview");
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    if (!file) {
      preview.hidden = true;
      $("drop-hint").hidden = false;
      $("file-name").textContent = "";
      $("share").disabled = true;
      return;
    }
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    $("drop-hint").hidden = true;
    $("drop").classList.add("has-file");
    $("file-label").textContent = "Choose another";
    $("file-name").textContent = file.name + " · " + formatBytes(file.size);
    $("share").disabled = false;
    if (file.type && !TYPES.includes(file.type)) {
      GS.showError($("form-error"), new Error("This doesn’t look like a JPEG, PNG or WebP image; the upload will probably be refused."));
    }
  }

  function setProgress(fraction) {
    const pct = Math.round(fraction * 100);
    $("progress").value = pct;
    $("progress-text").textContent = pct < 100 ? pct + "%" : "Processing…";
  }

  function upload(caption) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      data.append("file", file, file.name || "photo");
      if (caption) data.append("caption", caption);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/media");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", GS.csrfToken());
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) setProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          body = null;
        }
        if (xhr.status === 201 && body) resolve(body);
        else reject(GS.apiError(xhr.status, body, xhr.getResponseHeader("Retry-After")));
      });
      xhr.addEventListener("error", () => reject(GS.apiError(0, null)));
      xhr.addEventListener("abort", () => reject(GS.apiError(0, null)));
      xhr.send(data);
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await GS.requireLogin();
    const form = $("compose-form");
    const input = $("file");
    const drop = $("drop");
    const caption = $("caption");

    input.addEventListener("change", () => choose(input.files[0]));
    $("preview").addEventListener("error", () => {
      if (file) $("file-name").textContent = file.name + " · preview not available";
    });
    for (const name of ["dragenter", "dragover"]) {
      drop.addEventListener(name, (event) => {
        event.preventDefault();
        drop.classList.add("dragging");
      });
    }
    for (const name of ["dragleave", "drop"]) {
      drop.addEventListener(name, () => drop.classList.remove("dragging"));
    }
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      const picked = event.dataTransfer.files[0];
      if (picked) choose(picked);
    });
    caption.addEventListener("input", () => {
      $("caption-count").textContent = caption.value.length.toLocaleString("en-US") + " / 2,200";
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file) {
        GS.showError($("form-error"), new Error("Choose a photo first."));
        return;
      }
      const share = $("share");
      share.disabled = true;
      share.textContent = "Sharing…";
      input.disabled = true;
      caption.readOnly = true;
      GS.showError($("form-error"), null);
      setProgress(0);
      $("progress-wrap").hidden = false;
      try {
        const media = await upload(caption.value.trim());
        setProgress(1);
        $("progress-text").textContent = "Shared";
        location.assign(GS.photoUrl(media.id));
      } catch (err) {
        $("progress-wrap").hidden = true;
        GS.showError($("form-error"), err);
        share.disabled = false;
        share.textContent = "Share";
        input.disabled = false;
        caption.readOnly = false;
      }
    });
  });
})();
