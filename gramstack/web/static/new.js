// New post: pick or drop up to 10 photos, check each before any byte is
// sent (type, size, pixels, decodable), reorder them, give each its alt
// text, and upload with XMLHttpRequest so the progress bar follows the bytes.
(function () {
  "use strict";
  const { $, h } = GS;

  const TYPES = ["image/jpeg", "image/png", "image/webp"];
  // This server's limits (GS.limits, from its settings). The server enforces
  // its own; checking here saves a doomed upload.
  const MAX_PHOTOS = GS.limits.max_photos;
  const MAX_BYTES = GS.limits.max_upload_bytes;
  const MAX_PIXELS = GS.limits.max_image_pixels;
  const formatBytes = GS.formatBytes;

  // [{file, url, width, height, alt}]
  let photos = [];
  let selected = 0;

  // Resolves to the photo's size, or rejects with a message for people.
  function inspect(file) {
    const name = "“" + (file.name || "This file") + "”";
    if (file.type && !TYPES.includes(file.type)) {
      return Promise.reject(new Error(name + " isn’t a JPEG, PNG or WebP photo. Choose one of those."));
    }
    if (file.size > MAX_BYTES) {
      return Promise.reject(
        new Error(name + " is " + formatBytes(file.size) + ". Photos can be up to " + formatBytes(MAX_BYTES) + "; choose a smaller one.")
      );
    }
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.src = url;
    return img.decode().then(
      () => {
        if (img.naturalWidth * img.naturalHeight > MAX_PIXELS) {
          URL.revokeObjectURL(url);
          const pixels = GS.formatPixels(img.naturalWidth * img.naturalHeight);
          throw new Error(name + " has " + pixels + ". Photos can have up to " + GS.formatPixels(MAX_PIXELS) + "; choose a smaller one.");
        }
        return { file: file, url: url, width: img.naturalWidth, height: img.naturalHeight, alt: "" };
      },
      () => {
        URL.revokeObjectURL(url);
        throw new Error(name + " isn’t a photo gramstack can read. Choose a JPEG, PNG or WebP image.");
      }
    );
  }

  async function add(files) {
    GS.showError($("form-error"), null);
    const problems = [];
    for (const file of Array.from(files)) {
      if (photos.length >= MAX_PHOTOS) {
        problems.push("A post can have up to " + MAX_PHOTOS + " photos.");
        break;
      }
      try {
        photos.push(await inspect(file));
      } catch (err) {
        problems.push(err.message);
      }
    }
    if (problems.length) GS.showError($("form-error"), new Error(problems.join(" ")));
    if (photos.length && selected >= photos.length) selected = photos.length - 1;
    render();
  }

  function move(index, delta) {
    const target = index + delta;
    if (target < 0 || target >= photos.length) return;
    const [photo] = photos.splice(index, 1);
    photos.splice(target, 0, photo);
    selected = target;
    render();
    const again = $("picked").children[target];
    const button = again && again.querySelector(delta < 0 ? ".pick-earlier" : ".pick-later");
    if (button && !button.disabled) button.focus();
  }

  function remove(index) {
    URL.revokeObjectURL(photos[index].url);
    photos.splice(index, 1);
    if (selected >= photos.length) selected = Math.max(0, photos.length - 1);
    render();
  }

  function render() {
    const preview = $("preview");
    const list = $("picked");
    const any = photos.length > 0;
    preview.hidden = !any;
    $("drop-hint").hidden = any;
    $("drop").classList.toggle("has-file", any);
    $("share").disabled = !any;
    $("alt-field").hidden = !any;
    list.hidden = photos.length < 2;
    list.replaceChildren();
    if (!any) {
      preview.removeAttribute("src");
      $("file-name").textContent = "";
      return;
    }
    const current = photos[selected];
    preview.src = current.url;
    preview.alt = current.alt || "Preview of photo " + (selected + 1);
    $("file-label").textContent = photos.length < MAX_PHOTOS ? "Add photos" : MAX_PHOTOS + " photos chosen";
    $("file").disabled = photos.length >= MAX_PHOTOS;
    $("file-name").textContent =
      photos.length === 1
        ? current.file.name + " · " + formatBytes(current.file.size)
        : GS.plural(photos.length, "photo", "photos") + " · showing " + (selected + 1);
    $("alt-label").textContent = photos.length === 1 ? "Alt text" : "Alt text for photo " + (selected + 1);
    $("alt-text").value = current.alt;
    photos.forEach((photo, index) => {
      list.appendChild(
        h(
          "li",
          { class: "pick" + (index === selected ? " pick-selected" : "") },
          h(
            "button",
            {
              class: "pick-thumb",
              type: "button",
              "aria-label": "Show photo " + (index + 1),
              "aria-pressed": String(index === selected),
              on: { click: () => { selected = index; render(); } },
            },
            h("img", { src: photo.url, alt: "", width: 64, height: 64 })
          ),
          h(
            "span",
            { class: "pick-tools" },
            h("button", { class: "icon-btn pick-earlier", type: "button", "aria-label": "Move photo " + (index + 1) + " earlier", disabled: index === 0, on: { click: () => move(index, -1) } }, "‹"),
            h("button", { class: "icon-btn pick-remove", type: "button", "aria-label": "Remove photo " + (index + 1), on: { click: () => remove(index) } }, "×"),
            h("button", { class: "icon-btn pick-later", type: "button", "aria-label": "Move photo " + (index + 1) + " later", disabled: index === photos.length - 1, on: { click: () => move(index, 1) } }, "›")
          )
        )
      );
    });
  }

  function setProgress(fraction) {
    const pct = Math.round(fraction * 100);
    $("progress").value = pct;
    $("progress-text").textContent = pct < 100 ? pct + "%" : "Processing…";
  }

  function upload(caption) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      for (const photo of photos) data.append("file", photo.file, photo.file.name || "photo");
      // alt_text is all or nothing: one part per file, in the same order.
      if (photos.some((photo) => photo.alt.trim())) {
        for (const photo of photos) data.append("alt_text", photo.alt.trim());
      }
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

    input.addEventListener("change", () => {
      const files = Array.from(input.files);
      input.value = "";
      add(files);
    });
    $("alt-text").addEventListener("input", (event) => {
      if (photos[selected]) photos[selected].alt = event.target.value;
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
      if (event.dataTransfer.files.length) add(event.dataTransfer.files);
    });
    caption.addEventListener("input", () => {
      $("caption-count").textContent = caption.value.length.toLocaleString("en-US") + " / " + GS.limits.max_caption.toLocaleString("en-US");
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!photos.length) {
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
        input.disabled = photos.length >= MAX_PHOTOS;
        caption.readOnly = false;
      }
    });
  });
})();
