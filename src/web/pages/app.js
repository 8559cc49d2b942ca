// apflow's pages work without this script; it adds what a day at the
// queue needs: keyboard shortcuts (listed on "?"), local times, the
// document viewer's zoom, taking a value by clicking a word on the page,
// drag-and-drop upload, and a confirmation before a decision that closes
// an invoice. No framework, no build step; served from this origin.
"use strict";

(function () {
  const $ = (css, root) => (root || document).querySelector(css);
  const $$ = (css, root) => Array.from((root || document).querySelectorAll(css));

  // Times are written in UTC by the server; shown in the reader's zone.
  for (const t of $$("time.local[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) {
      t.textContent = d.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      });
      t.title = t.getAttribute("datetime");
    }
  }

  // While an invoice is checked again after a change, the page reloads
  // itself until its reasons are current, unless the person is typing.
  if ($("#rechecking")) {
    setTimeout(() => {
      const el = document.activeElement;
      if (!(el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))) window.location.reload();
    }, 1500);
  }

  // Decisions that close an invoice ask first.
  for (const f of $$("form[data-confirm]")) {
    f.addEventListener("submit", (e) => {
      if (!window.confirm(f.dataset.confirm)) e.preventDefault();
    });
  }

  // ---- keyboard ---------------------------------------------------------
  const rows = $$("tr[data-href]");
  let selected = -1;
  function select(i) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, n) => r.classList.toggle("selected", n === selected));
    const link = $("a.open", rows[selected]);
    if (link) link.focus();
  }
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const help = $("#keys");
    if (e.key === "?") {
      if (help && help.showModal) help.open ? help.close() : help.showModal();
      e.preventDefault();
      return;
    }
    if (rows.length && (e.key === "j" || e.key === "k")) {
      select(selected + (e.key === "j" ? 1 : -1));
      e.preventDefault();
      return;
    }
    const target = $('[data-key="' + CSS.escape(e.key) + '"]');
    if (!target) return;
    e.preventDefault();
    if (typing(target)) {
      target.focus();
      if (target.select) target.select();
    } else {
      target.click();
    }
  });

  // ---- document viewer --------------------------------------------------
  const viewer = $(".viewer");
  let zoom = null; // null: fit to width
  function layoutPages() {
    for (const sheet of $$(".sheet")) {
      const page = $(".pageview", sheet);
      const img = $("img", page);
      if (!img || !img.naturalWidth) continue;
      const fit = sheet.clientWidth / img.naturalWidth;
      const k = zoom === null ? fit : zoom;
      page.style.transform = "scale(" + k + ")";
      sheet.style.height = img.naturalHeight * k + "px";
    }
    const shown = $("#zoom-level");
    if (shown) shown.textContent = zoom === null ? "fit" : Math.round(zoom * 100) + "%";
  }
  if (viewer) {
    for (const img of $$(".pageview img")) {
      if (img.complete) layoutPages();
      else img.addEventListener("load", layoutPages);
    }
    window.addEventListener("resize", layoutPages);
    const current = () => {
      const img = $(".pageview img");
      const sheet = $(".sheet");
      return zoom === null && img && sheet && img.naturalWidth ? sheet.clientWidth / img.naturalWidth : zoom || 1;
    };
    const on = (id, f) => { const b = $("#" + id); if (b) b.addEventListener("click", f); };
    on("zoom-in", () => { zoom = Math.min(4, current() * 1.25); layoutPages(); });
    on("zoom-out", () => { zoom = Math.max(0.2, current() / 1.25); layoutPages(); });
    on("zoom-fit", () => { zoom = null; layoutPages(); });
    const pageNo = $("#page-no");
    if (pageNo) pageNo.addEventListener("change", () => {
      const sheet = $("#page-" + pageNo.value);
      if (sheet) sheet.scrollIntoView({ block: "start" });
    });
  }

  // ---- take a value by clicking its word on the page ---------------------
  // The field input last focused receives the word clicked; shift-click
  // adds the word to what is there (an amount printed as "1 234,56").
  let taking = null;
  const loaded = new WeakSet();
  async function showWords(page) {
    if (loaded.has(page) || !page.dataset.words) return;
    loaded.add(page);
    try {
      const r = await fetch(page.dataset.words, { credentials: "same-origin" });
      if (!r.ok) return;
      const scale = Number(page.dataset.pxPerPt || "1");
      for (const w of await r.json()) {
        const [x0, y0, x1, y1] = w.b;
        const s = document.createElement("span");
        s.className = "word";
        s.textContent = "";
        s.dataset.text = w.t;
        s.title = w.t;
        s.style.left = x0 * scale + "px";
        s.style.top = y0 * scale + "px";
        s.style.width = Math.max(2, (x1 - x0) * scale) + "px";
        s.style.height = Math.max(2, (y1 - y0) * scale) + "px";
        page.appendChild(s);
      }
    } catch (_) { /* the page still works without words */ }
  }
  for (const input of $$("input[data-takes]")) {
    input.addEventListener("focus", () => {
      taking = input;
      const hint = $("#taking");
      if (hint) hint.textContent = "Click a word on the page to take it for " + input.dataset.takes + " (shift-click adds words).";
      for (const page of $$(".pageview[data-words]")) {
        page.classList.add("taking");
        showWords(page);
      }
    });
  }
  document.addEventListener("click", (e) => {
    const w = e.target.closest && e.target.closest(".word");
    if (!w || !taking) return;
    e.preventDefault();
    taking.value = e.shiftKey && taking.value ? taking.value + " " + w.dataset.text : w.dataset.text;
    taking.dispatchEvent(new Event("input", { bubbles: true }));
    taking.focus();
  });

  // ---- upload -----------------------------------------------------------
  const zone = $("#dropzone");
  if (zone) {
    const input = $("input[type=file]", zone);
    const list = $("#uploads");
    const csrf = ($('meta[name="csrf"]') || {}).content || "";
    const send = (file) => {
      const li = document.createElement("li");
      li.textContent = file.name + ": sending…";
      list.appendChild(li);
      const body = new FormData();
      body.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/documents");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = (p) => {
        if (p.lengthComputable) li.textContent = file.name + ": " + Math.round((p.loaded * 100) / p.total) + "%";
      };
      xhr.onload = () => {
        let answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (_) { /* shown below */ }
        li.textContent = "";
        if (xhr.status === 201 && Array.isArray(answer)) {
          li.append(file.name + ": received as ");
          answer.forEach((d, i) => {
            const a = document.createElement("a");
            a.href = "/documents/" + d.document_id + "/status";
            a.textContent = "document " + d.document_id + (d.duplicate ? " (already here)" : "");
            if (i) li.append(", ");
            li.appendChild(a);
          });
          li.append(". It is being read; its status is behind the link.");
        } else {
          const why = answer && answer.error ? answer.error.message : "the server answered " + xhr.status;
          li.className = "low";
          li.textContent = file.name + ": not received: " + why;
        }
      };
      xhr.onerror = () => { li.className = "low"; li.textContent = file.name + ": not sent (connection lost)"; };
      xhr.send(body);
    };
    input.addEventListener("change", () => { Array.from(input.files).forEach(send); input.value = ""; });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      Array.from(e.dataTransfer.files).forEach(send);
    });
  }
})();
