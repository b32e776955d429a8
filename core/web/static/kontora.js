// Kontora web client: the small amount of JavaScript the server-rendered pages need.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => $('meta[name="csrf-token"]').content;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { ok: response.ok, status: response.status, data };
  }

  function flash(message) {
    const box = $("#flash");
    if (!box) { alert(message); return; }
    box.textContent = message;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }
  const errorText = (r) => (r.data && r.data.error && r.data.error.message) || ("HTTP " + r.status);

  // -- domains on the client: readonly / required / invisible attributes -------------------
  function evalTerm(term, values) {
    const [name, op, expected] = term;
    let v = values[name];
    if (Array.isArray(v)) v = v[0];
    if (v === "" || v === undefined) v = null;
    switch (op) {
      case "=": return v == expected || (v === null && (expected === false || expected === null));
      case "!=": return !(v == expected || (v === null && (expected === false || expected === null)));
      case "in": return (expected || []).includes(v);
      case "not in": return !(expected || []).includes(v);
      case ">": return v !== null && v > expected;
      case ">=": return v !== null && v >= expected;
      case "<": return v !== null && v < expected;
      case "<=": return v !== null && v <= expected;
      default: return false;
    }
  }
  function evalDomain(domain, values) {
    if (domain === true) return true;
    if (!Array.isArray(domain) || !domain.length) return !!domain && domain.length !== 0;
    const stack = [];
    for (let i = domain.length - 1; i >= 0; i--) {
      const t = domain[i];
      if (t === "&") stack.push(stack.pop() && stack.pop());
      else if (t === "|") { const a = stack.pop(), b = stack.pop(); stack.push(a || b); }
      else if (t === "!") stack.push(!stack.pop());
      else stack.push(evalTerm(t, values));
    }
    return stack.every(Boolean);
  }

  // -- forms --------------------------------------------------------------------------------
  function fieldValue(el) {
    const type = el.dataset.type;
    if (type === "one2many") return linesValue(el);
    if (type === "many2many") return $$(".tag", el).map((t) => parseInt(t.dataset.id, 10));
    if (type === "boolean") { const i = $("input", el); return i.checked; }
    if (type === "many2one") { const v = $('input[type=hidden]', el).value; return v ? parseInt(v, 10) : null; }
    const input = $("input, select, textarea", el);
    return input ? input.value : null;
  }
  function linesValue(el) {
    return $$("tbody tr", el).map((tr) => {
      const line = {};
      if (tr.dataset.lineId) line.id = parseInt(tr.dataset.lineId, 10);
      $$("[data-line-field]", tr).forEach((input) => {
        let value = input.type === "checkbox" ? input.checked : input.value;
        if (input.type === "hidden") value = value ? parseInt(value, 10) : null;
        line[input.dataset.lineField] = value;
      });
      return line;
    });
  }
  function formFields(form) {
    return $$(".field[data-field]", form).filter((el) => !el.parentElement.closest(".field"));
  }
  function snapshot(form) {
    const values = {};
    formFields(form).forEach((el) => { values[el.dataset.field] = JSON.stringify(fieldValue(el)); });
    return values;
  }
  function currentValues(form) {
    const values = {};
    formFields(form).forEach((el) => { values[el.dataset.field] = fieldValue(el); });
    if (form.dataset.state) values.state = form.dataset.state;
    return values;
  }
  function changedValues(form) {
    const out = {};
    formFields(form).forEach((el) => {
      const name = el.dataset.field;
      const input = $("input:not([type=hidden]), select, textarea", el);
      if (input && (input.readOnly || input.disabled) && el.dataset.type !== "one2many") return;
      const value = fieldValue(el);
      const isNew = !form.dataset.id;
      const filled = value !== null && value !== "" && !(Array.isArray(value) && !value.length);
      if (JSON.stringify(value) !== form._initial[name] || (isNew && filled)) out[name] = value;
    });
    return out;
  }
  function applyAttrs(form) {
    const values = currentValues(form);
    $$("[data-invisible]", form.closest("body")).forEach((el) => {
      el.hidden = evalDomain(JSON.parse(el.dataset.invisible), values);
    });
    $$("[data-readonly]", form).forEach((el) => {
      const ro = evalDomain(JSON.parse(el.dataset.readonly), values);
      $$("input, select, textarea", el).forEach((i) => { i.readOnly = ro; if (i.tagName === "SELECT") i.disabled = ro; });
    });
    $$("[data-required]", form).forEach((el) => {
      el.classList.toggle("required", evalDomain(JSON.parse(el.dataset.required), values));
    });
  }

  // ``navigate``: reload (or open the new record) after saving; a button that saves first
  // navigates itself afterwards, and two navigations at once would cancel each other.
  async function saveForm(form, navigate = true) {
    const model = form.dataset.model, id = form.dataset.id;
    const values = changedValues(form);
    if (id && !Object.keys(values).length) return true;
    const url = id ? `/web/${model}/${id}/save` : `/web/${model}/save`;
    const r = await post(url, { values, write_date: form.dataset.writeDate || null, action: form.dataset.action || null });
    $$(".field.invalid", form).forEach((el) => el.classList.remove("invalid"));
    if (r.status === 409) {
      const box = $("[data-conflict]");
      $("[data-conflict-text]", box).textContent = errorText(r);
      $("[data-reload]", box).href = location.href;
      box.hidden = false;
      return false;
    }
    if (!r.ok) {
      const fields = (r.data.error && r.data.error.fields) || {};
      Object.keys(fields).forEach((name) => {
        const el = $(`.field[data-field="${name}"]`, form);
        if (el) el.classList.add("invalid");
      });
      flash(errorText(r));
      return false;
    }
    if (!id) { location.href = r.data.url; return true; }
    form.dataset.writeDate = r.data.write_date || "";
    form._initial = snapshot(form);
    if (navigate) location.reload();
    return true;
  }

  let onchangeTimer = null;
  function scheduleOnchange(form) {
    clearTimeout(onchangeTimer);
    onchangeTimer = setTimeout(async () => {
      const computed = formFields(form).filter((el) => {
        const i = $("input, textarea", el);
        return i && i.readOnly && el.dataset.type !== "one2many";
      }).map((el) => el.dataset.field);
      if (!computed.length) return;
      const r = await post(`/web/${form.dataset.model}/onchange`, {
        id: form.dataset.id ? parseInt(form.dataset.id, 10) : null,
        values: changedValues(form),
        fields: computed,
      });
      if (!r.ok) return;
      Object.entries(r.data.values || {}).forEach(([name, text]) => {
        const el = $(`.field[data-field="${name}"] input`, form);
        if (el) { el.value = text; el.dataset.display = text; }
      });
    }, 250);
  }

  function initForm(form) {
    form._initial = snapshot(form);
    applyAttrs(form);
    form.addEventListener("input", () => { applyAttrs(form); scheduleOnchange(form); });
    form.addEventListener("change", () => { applyAttrs(form); scheduleOnchange(form); });
    $("[data-save]", form).addEventListener("click", () => saveForm(form));
    $("[data-discard]", form).addEventListener("click", () => location.reload());
    $$("[data-call]").forEach((button) => button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      if (form.dataset.id && Object.keys(changedValues(form)).length && !(await saveForm(form, false))) return;
      const r = await post(`/web/${form.dataset.model}/${form.dataset.id}/call/${button.dataset.call}`, {});
      if (!r.ok) { flash(errorText(r)); return; }
      location.href = r.data.url || location.href;
    }));
    $$("[data-tab]", form).forEach((tab) => tab.addEventListener("click", () => {
      const book = tab.closest(".notebook");
      $$("[data-tab]", book).forEach((t) => t.setAttribute("aria-selected", t === tab ? "true" : "false"));
      $$("[data-page]", book).forEach((p) => { p.hidden = p.dataset.page !== tab.dataset.tab; });
    }));
    $$("table.lines", form).forEach((table) => {
      const name = table.dataset.o2m;
      const add = $("[data-line-add]", table);
      if (add) add.addEventListener("click", () => {
        const tpl = $(`template[data-line-template="${name}"]`, form);
        const row = tpl.content.firstElementChild.cloneNode(true);
        $("tbody", table).appendChild(row);
        initAutocomplete(row);
        const first = $("input:not([type=hidden]), select", row);
        if (first) first.focus();
        scheduleOnchange(form);
      });
      table.addEventListener("click", (event) => {
        const tr = event.target.closest("tr");
        if (event.target.closest("[data-line-delete]")) { tr.remove(); scheduleOnchange(form); }
        if (event.target.closest("[data-line-up]") && tr.previousElementSibling) {
          tr.parentNode.insertBefore(tr, tr.previousElementSibling); scheduleOnchange(form);
        }
      });
    });
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); saveForm(form); }
      else if (event.key === "Escape" && !event.target.closest(".m2o")) location.reload();
      else if (event.altKey && event.key === "ArrowLeft" && $("[data-prev]")) location.href = $("[data-prev]").href;
      else if (event.altKey && event.key === "ArrowRight" && $("[data-next]")) location.href = $("[data-next]").href;
    });
  }

  // -- many2one / many2many autocomplete -----------------------------------------------------
  function initAutocomplete(root) {
    $$(".m2o [data-m2o-text], .m2m [data-m2m-text]", root).forEach((input) => {
      const box = input.closest(".m2o, .m2m");
      const results = $(".m2o-results", box);
      const many = box.classList.contains("m2m");
      let timer = null;
      const choose = (id, name) => {
        if (many) {
          const tag = document.createElement("span");
          tag.className = "tag"; tag.dataset.id = id; tag.textContent = name + " ";
          const x = document.createElement("button");
          x.type = "button"; x.dataset.removeTag = ""; x.textContent = "×";
          tag.appendChild(x);
          box.insertBefore(tag, input);
          input.value = "";
        } else {
          $("input[type=hidden]", box).value = id;
          input.value = name;
        }
        results.hidden = true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      };
      input.addEventListener("input", () => {
        if (!many && !input.value) $("input[type=hidden]", box).value = "";
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const text = input.value;
          const response = await fetch(`/web/${box.dataset.comodel}/name_search?q=${encodeURIComponent(text)}`, { credentials: "same-origin" });
          if (!response.ok) return;
          const data = await response.json();
          results.textContent = "";
          data.results.forEach((row) => {
            const b = document.createElement("button");
            b.type = "button"; b.textContent = row.name; b.dataset.id = row.id;
            b.addEventListener("click", () => choose(row.id, row.name));
            results.appendChild(b);
          });
          if (data.can_create && text.trim()) {
            const b = document.createElement("button");
            b.type = "button"; b.dataset.create = ""; b.textContent = `+ ${text}`;
            b.addEventListener("click", async () => {
              const r = await post(`/web/${box.dataset.comodel}/quick_create`, { name: text });
              if (!r.ok) { flash(errorText(r)); return; }
              choose(r.data.id, r.data.name);
            });
            results.appendChild(b);
          }
          results.hidden = !results.children.length;
        }, 200);
      });
      input.addEventListener("blur", () => setTimeout(() => { results.hidden = true; }, 200));
    });
    $$(".m2m", root).forEach((box) => box.addEventListener("click", (event) => {
      if (event.target.closest("[data-remove-tag]")) {
        event.target.closest(".tag").remove();
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }));
  }

  // -- lists ----------------------------------------------------------------------------------
  function initList(table) {
    const model = table.dataset.model;
    const bar = $("[data-bulk]");
    const selected = () => $$("[data-select]:checked", table).map((c) => parseInt(c.value, 10));
    const refresh = () => {
      const ids = selected();
      bar.hidden = !ids.length;
      $("[data-selected-count]", bar).textContent = ids.length + " ✓";
    };
    const all = $("[data-select-all]", table);
    if (all) all.addEventListener("change", () => { $$("[data-select]", table).forEach((c) => { c.checked = all.checked; }); refresh(); });
    table.addEventListener("change", (e) => { if (e.target.matches("[data-select]")) refresh(); });
    $$("[data-bulk-op]", bar).forEach((button) => button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      const body = { ids: selected(), operation: button.dataset.bulkOp };
      if (body.operation === "set") { body.field = $("[data-bulk-field]", bar).value; body.value = $("[data-bulk-value]", bar).value; }
      const r = await post(`/web/${model}/bulk`, body);
      if (!r.ok) { flash(errorText(r)); return; }
      location.reload();
    }));
    const exportButton = $("[data-bulk-export]", bar);
    if (exportButton) exportButton.addEventListener("click", () => {
      const form = document.createElement("form");
      form.method = "post"; form.action = `/web/${model}/export`;
      const add = (name, value) => { const i = document.createElement("input"); i.type = "hidden"; i.name = name; i.value = value; form.appendChild(i); };
      add("csrf_token", csrf());
      add("ids", selected().join(","));
      add("format", "csv");
      document.body.appendChild(form); form.submit();
    });
  }

  function initSearch(form) {
    const panel = $("[data-custom-filter]", form);
    if (panel) $("[data-cf-add]", panel).addEventListener("click", () => {
      const field = $("[data-cf-field]", panel).value, op = $("[data-cf-op]", panel).value;
      let value = $("[data-cf-value]", panel).value;
      const type = $("[data-cf-field]", panel).selectedOptions[0].dataset.type;
      if (["integer", "float", "monetary", "many2one"].includes(type) && value !== "" && !isNaN(Number(value)) && op !== "ilike") value = JSON.stringify(Number(value));
      else if (type === "boolean") value = JSON.stringify(["1", "true", "yes", "да"].includes(value.toLowerCase()));
      const input = document.createElement("input");
      input.type = "hidden"; input.name = "where"; input.value = `${field}|${op}|${value}`;
      form.appendChild(input); form.submit();
    });
    const save = $("[data-save-view]", form);
    if (save) save.addEventListener("click", async () => {
      const name = $("[data-save-name]", form).value.trim();
      if (!name) { flash(save.textContent); return; }
      const r = await post(`/web/${save.dataset.model}/filters`, {
        name, query: location.search.replace(/^\?/, ""),
        shared: $("[data-save-shared]", form).checked, is_default: $("[data-save-default]", form).checked,
      });
      if (!r.ok) { flash(errorText(r)); return; }
      location.reload();
    });
  }

  // -- kanban --------------------------------------------------------------------------------
  function initKanban(board) {
    const model = board.dataset.model, groupBy = board.dataset.groupBy;
    let dragged = null;
    board.addEventListener("dragstart", (e) => { dragged = e.target.closest(".card"); e.dataTransfer.setData("text/plain", dragged.dataset.id); });
    $$(".kcol", board).forEach((col) => {
      col.addEventListener("dragover", (e) => { e.preventDefault(); col.classList.add("drop-target"); });
      col.addEventListener("dragleave", () => col.classList.remove("drop-target"));
      col.addEventListener("drop", async (e) => {
        e.preventDefault(); col.classList.remove("drop-target");
        if (!dragged) return;
        const from = dragged.closest(".kcol");
        if (from === col) return;
        const key = col.dataset.key;
        const value = key === "" ? null : (isNaN(Number(key)) ? key : Number(key));
        const card = dragged; dragged = null;
        const r = await post(`/web/${model}/${card.dataset.id}/save`, { values: { [groupBy]: value } });
        if (!r.ok) { flash(errorText(r)); card.classList.add("refused"); return; }  // the card stays where it was
        $(".cards", col).prepend(card);
        const bump = (c, d) => { const n = $("[data-col-count]", c); n.textContent = parseInt(n.textContent, 10) + d; };
        bump(from, -1); bump(col, 1);
      });
    });
    $$("[data-quick-add]", board).forEach((button) => button.addEventListener("click", async () => {
      const col = button.closest(".kcol"), input = $("input", button.closest("form"));
      if (!input.value.trim()) return;
      const key = col.dataset.key;
      const r = await post(`/web/${model}/quick_create`, { name: input.value, defaults: { [groupBy]: isNaN(Number(key)) ? key : Number(key) } });
      if (!r.ok) { flash(errorText(r)); return; }
      location.reload();
    }));
    $$("[data-more]", board).forEach((button) => button.addEventListener("click", async () => {
      const col = button.closest(".kcol");
      const params = new URLSearchParams(location.search);
      params.set("key", col.dataset.key); params.set("offset", button.dataset.offset);
      const response = await fetch(`/web/${model}/kanban_more?${params}`, { credentials: "same-origin" });
      if (!response.ok) { flash("HTTP " + response.status); return; }
      const html = await response.text();
      $(".cards", col).insertAdjacentHTML("beforeend", html);
      const loaded = $$(".card", col).length;
      button.dataset.offset = loaded;
      if (loaded >= parseInt(col.dataset.count, 10)) button.remove();
    }));
  }

  // -- calendar ------------------------------------------------------------------------------
  // Slots are the user's local wall-clock times: shift them as UTC so the browser's own time
  // zone never enters the sum.
  function addSeconds(text, seconds) {
    const [day, time] = text.split("T");
    const [y, m, d] = day.split("-").map(Number);
    const [hh, mm] = (time || "00:00").split(":").map(Number);
    const moved = new Date(Date.UTC(y, m - 1, d, hh, mm) + seconds * 1000).toISOString();
    return time ? moved.slice(0, 16) : moved.slice(0, 10);
  }
  function initCalendar(cal) {
    const model = cal.dataset.model, start = cal.dataset.start, stop = cal.dataset.stop;
    let dragged = null;
    cal.addEventListener("dragstart", (e) => { dragged = e.target.closest(".event"); });
    $$("[data-slot]", cal).forEach((slot) => {
      slot.addEventListener("dblclick", () => { location.href = `/web/${model}/new?default_${start}=${encodeURIComponent(slot.dataset.slot)}`; });
      slot.addEventListener("click", (e) => { if (e.target === slot && e.detail === 1 && slot.dataset.quick !== undefined) { location.href = `/web/${model}/new?default_${start}=${encodeURIComponent(slot.dataset.slot)}`; } });
      slot.addEventListener("dragover", (e) => e.preventDefault());
      slot.addEventListener("drop", async (e) => {
        e.preventDefault();
        if (!dragged) return;
        const values = { [start]: slot.dataset.slot };
        if (stop && dragged.dataset.duration) {
          values[stop] = addSeconds(slot.dataset.slot, parseInt(dragged.dataset.duration, 10));
        }
        const r = await post(`/web/${model}/${dragged.dataset.id}/save`, { values });
        if (!r.ok) { flash(errorText(r)); return; }
        slot.appendChild(dragged); dragged = null;
      });
    });
  }

  // -- chatter -------------------------------------------------------------------------------
  function initNote(form) {
    $("[data-post-note]", form).addEventListener("click", async () => {
      const body = $("textarea", form).value;
      const r = await post(`/web/${form.dataset.model}/${form.dataset.id}/note`, { body });
      if (!r.ok) { flash(errorText(r)); return; }
      location.reload();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const toggle = $("[data-toggle-menu]");
    if (toggle) toggle.addEventListener("click", () => document.body.classList.toggle("menu-open"));
    const form = $("form.record");
    if (form) { initForm(form); initAutocomplete(form); }
    const table = $("table.list");
    if (table) initList(table);
    const search = $("#search-form");
    if (search) initSearch(search);
    const board = $(".kanban");
    if (board) initKanban(board);
    const cal = $(".calendar[data-model]");
    if (cal) initCalendar(cal);
    const note = $("form[data-note]");
    if (note) initNote(note);
    document.body.dataset.ready = "1";
  });
})();
