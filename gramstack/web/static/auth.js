// Sign-up and log-in forms. The API sets the HttpOnly session cookie; the
// token in the JSON body is ignored on purpose.
(function () {
  "use strict";
  const { $ } = GS;

  function fieldError(form) {
    for (const input of form.querySelectorAll("input")) {
      if (input.checkValidity()) continue;
      const label = form.querySelector('label[for="' + input.id + '"]').firstChild.textContent.trim();
      if (input.validity.valueMissing) return [input, label + " is required."];
      if (input.validity.tooShort) return [input, label + " must be at least " + input.minLength + " characters."];
      if (input.validity.patternMismatch) return [input, "Usernames may only use letters, numbers, dots and underscores."];
      return [input, input.validationMessage];
    }
    return null;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const form = $("auth-form");
    const error = $("form-error");
    const submit = form.querySelector('button[type="submit"]');
    const mode = form.dataset.mode;
    const next = GS.safeNext(new URLSearchParams(location.search).get("next"));

    GS.me.then((me) => {
      if (me) location.replace(next);
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      GS.showError(error, null);
      const invalid = fieldError(form);
      if (invalid) {
        GS.showError(error, new Error(invalid[1]));
        invalid[0].setAttribute("aria-invalid", "true");
        invalid[0].focus();
        return;
      }
      for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
      const body = {
        username: form.username.value.trim().toLowerCase(),
        password: form.password.value,
      };
      if (mode === "signup" && form.full_name.value.trim()) body.full_name = form.full_name.value.trim();
      submit.disabled = true;
      const label = submit.textContent;
      submit.textContent = mode === "signup" ? "Creating account…" : "Logging in…";
      try {
        // X-Session-Cookie asks the API for the HttpOnly cookie pair.
        await GS.api("POST", mode === "signup" ? "/accounts" : "/sessions", body, { "X-Session-Cookie": "1" });
        location.assign(next);
      } catch (err) {
        GS.showError(error, err);
        const field = err.code === "username_taken" ? form.username : null;
        if (field) {
          field.setAttribute("aria-invalid", "true");
          field.focus();
        }
        submit.disabled = false;
        submit.textContent = label;
      }
    });
  });
})();
