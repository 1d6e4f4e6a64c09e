// rookdb Studio: a little vanilla JS on top of server-rendered pages.
// Everything works without it except live previews and progress polling.
"use strict";

(function () {
  const pad = (n) => String(n).padStart(2, "0");

  // Times arrive as UTC in <time datetime>; show them in the reader's zone, UTC on hover.
  function localTimes(root) {
    root.querySelectorAll("time.when").forEach((el) => {
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
      el.title = `${d.toISOString().replace("T", " ").slice(0, 19)} UTC`;
    });
  }

  function whenHtml(iso) {
    if (!iso) return '<span class="muted">never</span>';
    const t = document.createElement("time");
    t.className = "when";
    t.setAttribute("datetime", iso);
    t.textContent = iso;
    const box = document.createElement("span");
    box.appendChild(t);
    localTimes(box);
    return box.innerHTML;
  }

  function showZone() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
    document.querySelectorAll(".tzname").forEach((el) => (el.textContent = zone));
  }

  // Forms that destroy something ask first.
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (ev) => {
        if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
      });
    });
  }

  // Cron fields: ask the server for a plain-words reading and the next three runs.
  function cronPreviews() {
    document.querySelectorAll("input[data-cron-preview]").forEach((input) => {
      const out = document.getElementById(input.dataset.cronPreview);
      const zoneInput = document.getElementById("timezone");
      let timer = null;
      let seq = 0;
      const update = () => {
        const expr = input.value.trim();
        if (!expr) { out.innerHTML = '<span class="muted">Not scheduled.</span>'; out.classList.remove("bad"); return; }
        const mine = ++seq;
        const zone = zoneInput ? zoneInput.value : "UTC";
        fetch(`/studio/cron-preview?expr=${encodeURIComponent(expr)}&timezone=${encodeURIComponent(zone)}`)
          .then((r) => r.json())
          .then((data) => {
            if (mine !== seq) return;
            out.classList.toggle("bad", !data.valid);
            if (!data.valid) { out.innerHTML = `<span class="words"></span>`; out.querySelector(".words").textContent = data.error; return; }
            const runs = data.next.map((iso) => `<li>${whenHtml(iso)}</li>`).join("");
            out.innerHTML = `<span class="words"></span><br>Next runs:<ol>${runs}</ol>`;
            out.querySelector(".words").textContent = data.words;
          })
          .catch(() => {});
      };
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(update, 250);
        clearServerError(input);
      });
      if (zoneInput) zoneInput.addEventListener("change", update);
      // A field the server refused already says why; the live reading starts with the next edit.
      if (input.getAttribute("aria-invalid") !== "true") update();
    });
  }

  // Once a refused field is edited, its server message no longer applies.
  function clearServerError(input) {
    if (input.getAttribute("aria-invalid") !== "true") return;
    input.removeAttribute("aria-invalid");
    const id = input.getAttribute("aria-describedby");
    const message = id && document.getElementById(id);
    if (message) message.hidden = true;
    input.removeAttribute("aria-describedby");
  }

  // Destinations: add a sub-form per kind from its <template>, remove one, test one.
  function destinations() {
    const list = document.getElementById("destinations");
    if (!list) return;
    let next = Number(list.dataset.next || list.children.length);
    const add = document.getElementById("add-destination");
    const kind = document.getElementById("new-destination-kind");
    if (add && kind) {
      add.addEventListener("click", () => {
        const tpl = document.getElementById(`dest-template-${kind.value}`);
        const html = tpl.innerHTML.replaceAll("__N__", String(next));
        next += 1;
        list.insertAdjacentHTML("beforeend", html);
        const added = list.lastElementChild;
        wireDestination(added);
        const first = added.querySelector("input, select");
        if (first) first.focus();
        const empty = document.getElementById("no-destinations");
        if (empty) empty.hidden = true;
      });
    }
    list.querySelectorAll(".dest").forEach(wireDestination);
  }

  function wireDestination(box) {
    const remove = box.querySelector("[data-remove]");
    if (remove) remove.addEventListener("click", () => box.remove());
    const test = box.querySelector("[data-test]");
    if (!test) return;
    test.addEventListener("click", () => {
      const out = box.querySelector(".test-result");
      const form = test.closest("form");
      const body = new FormData();
      const prefix = box.dataset.prefix;
      for (const [key, value] of new FormData(form).entries()) {
        if (key.startsWith(prefix)) body.append(key.slice(prefix.length), value);
      }
      if (form.dataset.taskId) body.append("task_id", form.dataset.taskId);
      // Every Studio POST carries the page's CSRF token, this one too.
      const csrf = form.querySelector("input[name=csrf_token]");
      if (csrf) body.append("csrf_token", csrf.value);
      body.append("index", box.dataset.index || "");
      out.className = "test-result";
      out.textContent = "Testing…";
      test.disabled = true;
      fetch(test.dataset.test, { method: "POST", body })
        .then((r) => r.json())
        .then((data) => {
          out.className = `test-result ${data.ok ? "ok" : "bad"}`;
          out.textContent = data.ok ? `✓ ${data.message}` : `✗ ${data.message}`;
        })
        .catch(() => { out.className = "test-result bad"; out.textContent = "✗ The server did not answer."; })
        .finally(() => { test.disabled = false; });
    });
  }

  // The name field's placeholder shows the name the server will generate from the destinations.
  function generatedName() {
    const name = document.querySelector("[data-generated-name]");
    const list = document.getElementById("destinations");
    if (!name || !list) return;
    const form = name.closest("form");
    const update = () => {
      const type = form.querySelector("input[name=type]:checked");
      const verb = type && type.value === "snapshot" ? "Snapshot" : "Backup";
      const labels = Array.from(list.querySelectorAll(".dest")).map((box) => {
        const key = form.querySelector(`[name="${box.dataset.keyField}"]`);
        const title = box.dataset.kindLabel || box.dataset.kind;
        return key && key.value.trim() ? `${title} (${key.value.trim()})` : title;
      });
      name.placeholder = `${verb} to ${labels.length ? labels.join(", ") : "…"}`;
    };
    form.addEventListener("input", update);
    form.addEventListener("click", () => setTimeout(update, 0));
    update();
  }

  // Task cards: poll the status while a run is going on (Backup Now, scheduled run).
  function taskCards() {
    document.querySelectorAll(".card[data-status-url]").forEach((card) => {
      const url = card.dataset.statusUrl;
      const refresh = card.querySelector("[data-refresh]");
      const poll = (again) => fetch(url).then((r) => r.json()).then((s) => {
        paintStatus(card, s);
        if (s.running && again) setTimeout(() => poll(true), 700);
        else if (!s.running && card.dataset.wasRunning === "1") { card.dataset.wasRunning = "0"; }
      }).catch(() => {});
      if (refresh) refresh.addEventListener("click", (ev) => { ev.preventDefault(); poll(false); });
      if (card.dataset.running === "1") poll(true);
    });
  }

  function paintStatus(card, s) {
    const set = (name, html) => { const el = card.querySelector(`[data-field="${name}"]`); if (el) el.innerHTML = html; };
    set("last_full_backup", whenHtml(s.last_full_backup));
    set("last_incremental_backup", whenHtml(s.last_incremental_backup));
    if (s.next_backup) set("next_backup", `${whenHtml(s.next_backup.at)} <span class="tag">${s.next_backup.kind}</span>`);
    const responsible = card.querySelector('[data-field="responsible_node"]');
    if (responsible && s.node) {
      // Text only: node tags and reasons come from the server but are never markup.
      responsible.textContent = s.node + (s.responsible_reason ? ` (${s.responsible_reason})` : "");
    }
    const running = card.querySelector("[data-running]");
    if (running) {
      running.hidden = !s.running;
      if (s.running) {
        const p = s.running.progress;
        const bar = running.querySelector(".progress");
        const label = running.querySelector(".progress-label");
        const fraction = p && typeof p === "object" ? p.fraction : typeof p === "number" ? p : null;
        bar.classList.toggle("indeterminate", fraction == null);
        bar.querySelector("span").style.width = fraction == null ? "" : `${Math.round(fraction * 100)}%`;
        const docs = p && typeof p === "object" && p.documents ? ` ${p.documents.toLocaleString()} documents written` : "";
        label.textContent = `Running ${s.running.kind} backup…${docs}`;
      }
    }
    const err = card.querySelector("[data-field='last_error']");
    if (err) {
      const message = s.last_run && s.last_run.error;
      err.hidden = !message;
      err.textContent = message ? `Last run failed: ${message}` : "";
    }
    const overdue = card.querySelector("[data-field='overdue']");
    if (overdue) overdue.hidden = !s.overdue;
  }

  // Restore: poll the job until it lands, then go to the new database.
  function restoreProgress() {
    const box = document.querySelector("[data-restore-job]");
    if (!box) return;
    const url = box.dataset.restoreJob;
    const bar = box.querySelector(".progress");
    const label = box.querySelector(".progress-label");
    const poll = () => fetch(url).then((r) => r.json()).then((job) => {
      label.textContent = job.message;
      if (job.fraction != null) { bar.classList.remove("indeterminate"); bar.querySelector("span").style.width = `${Math.round(job.fraction * 100)}%`; }
      if (job.state === "done") { window.location.assign(job.next); return; }
      if (job.state === "failed") { box.querySelector(".alert").hidden = false; box.querySelector(".alert").textContent = job.error; bar.hidden = true; return; }
      setTimeout(poll, 500);
    }).catch(() => setTimeout(poll, 1000));
    poll();
  }

  // Forms that start long work show it at once.
  function busyButtons() {
    document.querySelectorAll("form[data-busy]").forEach((form) => {
      form.addEventListener("submit", () => {
        const btn = form.querySelector("button[type=submit]");
        if (btn) { btn.disabled = true; btn.textContent = form.dataset.busy; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    showZone();
    localTimes(document);
    confirmations();
    cronPreviews();
    destinations();
    generatedName();
    taskCards();
    restoreProgress();
    busyButtons();
  });
})();

// Task graphs: a card's Refresh also reloads its graph (a new query string, so no cached picture).
(function () {
  function refreshTaskGraphs() {
    document.querySelectorAll(".card[data-status-url]").forEach((card) => {
      const img = card.querySelector("img[data-task-graph]");
      const refresh = card.querySelector("[data-refresh]");
      if (!img || !refresh) return;
      refresh.addEventListener("click", () => {
        const url = new URL(img.getAttribute("src"), window.location.href);
        url.searchParams.set("refreshed", String(Date.now()));
        img.src = url.pathname + url.search;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", refreshTaskGraphs);
})();
