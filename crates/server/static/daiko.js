// daiko portal: upload with progress (the only script). No framework, no build.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const message = (xhrText, fallback) => {
    try { const j = JSON.parse(xhrText); return j.message || j.message_ja || fallback; } catch (_) { return fallback; }
  };

  const up = document.getElementById("upload-form");
  if (up) {
    up.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const file = document.getElementById("file").files[0];
      if (!file) return;
      const org = document.getElementById("org");
      const result = document.getElementById("upload-result");
      const bar = document.getElementById("upload-progress");
      const pct = document.getElementById("upload-percent");
      const button = document.getElementById("upload-button");
      const d = up.dataset;
      let url = d.endpoint + "?name=" + encodeURIComponent(file.name);
      if (org) url += "&org=" + encodeURIComponent(org.value);
      bar.parentElement.hidden = false;
      bar.value = 0; pct.textContent = "0%";
      button.disabled = true;
      result.textContent = d.msgSending;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/zip");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          const p = Math.round((e.loaded / e.total) * 100);
          bar.value = p; pct.textContent = p + "%";
        }
      };
      xhr.onload = () => {
        button.disabled = false;
        if (xhr.status === 201 || xhr.status === 200) {
          bar.value = 100; pct.textContent = "100%";
          const r = JSON.parse(xhr.responseText);
          result.innerHTML = '<div class="notice ok" role="status" data-testid="receipt"><p><strong>' + esc(d.msgDone) +
            "</strong></p><p>" + esc(d.msgReceipt) + ': <strong data-testid="receipt-no">' + esc(r.receipt_no) +
            "</strong> (" + esc(r.archive_name) + ')</p><p><a href="/submissions/' + encodeURIComponent(r.id) +
            '" data-testid="submission-link">' + esc(d.msgOpen) + "</a></p></div>";
        } else {
          result.innerHTML = '<p class="notice error" role="alert">' + esc(d.msgFail) + ": " + esc(message(xhr.responseText, xhr.status)) + "</p>";
        }
      };
      xhr.onerror = () => {
        button.disabled = false;
        result.innerHTML = '<p class="notice error" role="alert">' + esc(d.msgFail) + "</p>";
      };
      xhr.send(file);
    });
  }

})();
