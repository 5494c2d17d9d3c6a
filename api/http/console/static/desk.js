// The clerk's desk: forms drawn from the event catalogue (the spec the page carries), every
// submission checked with the API's dry run before anything is written, and written with an
// idempotency key, so that a double click or a retry records once. The key the clerk signs
// in with stays in this tab (sessionStorage) and goes out as a bearer header only.

const spec = JSON.parse(document.getElementById("desk-spec").textContent);
const TOKEN = "concord.desk.token";
const $ = (id) => document.getElementById(id);
const stateCodes = new Map(); // a state's name, lower case -> its code
for (const option of $("list-states").options) {
  stateCodes.set(option.label.toLowerCase(), option.value);
}

// ----- The API -----

async function api(path, { method = "GET", body, key } = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  let answer;
  try {
    answer = await fetch(path, { method, headers, cache: "no-store",
                                 body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    return { status: 0, body: { detail: `The server could not be reached (${error.message}). ` +
      "Try again: the same submission is recorded once, however many times it is sent." } };
  }
  let parsed = null;
  try { parsed = await answer.json(); } catch { parsed = null; }
  if (answer.status === 401 && path !== "/v1/me") {
    signOut("The server refused your key (unknown, or revoked): sign in again.");
  }
  return { status: answer.status, body: parsed,
           replayed: answer.headers.get("Idempotent-Replayed") === "true" };
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function digest(text) {
  if (!crypto.subtle) return null; // not a secure context
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") made.textContent = value;
    else made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children);
  return made;
}

function entryLink(position, text) {
  return element("a", { href: `/entries/${position}`, text: text || `entry ${position}` });
}

// ----- Signing in -----

let writable = false;

async function signIn(token) {
  sessionStorage.setItem(TOKEN, token);
  const me = await api("/v1/me");
  if (me.status !== 200) {
    sessionStorage.removeItem(TOKEN);
    fieldError("f-token", me.body?.detail || `The server answered ${me.status}.`);
    return false;
  }
  fieldError("f-token", "");
  writable = me.body.can_write;
  $("who").textContent = `Signed in as ${me.body.name} (${me.body.role}).` + (writable ? ""
    : " This key may read the record, not write it: the desk is read-only.");
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  $("desk").hidden = false;
  for (const id of ["check", "commit", "retract-check", "retract-commit", "batch-check",
                    "batch-commit", "correct-it"]) {
    if (!writable) $(id).disabled = true;
  }
  if (writable) $("check").disabled = $("retract-check").disabled = $("batch-check").disabled = false;
  $("desk").classList.toggle("read-only", !writable);
  await loadLists();
  return true;
}

function signOut(reason = "") {
  sessionStorage.removeItem(TOKEN);
  writable = false;
  checked = retraction = batch = null;
  keys.clear();
  $("commit").disabled = $("retract-commit").disabled = $("batch-commit").disabled = true;
  $("sign-in").hidden = false;
  $("signed-in").hidden = true;
  $("desk").hidden = true;
  $("f-token").value = "";
  fieldError("f-token", reason);
}

async function loadLists() {
  const lists = {
    networks: ["/v1/networks", (b) => b.map((n) => [n.code, n.name])],
    conferences: ["/v1/conferences", (b) => b.map((c) => [c.code, c.title])],
    declarations: ["/v1/declarations", (b) => b.map((d) => [d.code, d.title])],
    instruments: ["/v1/instruments", (b) => b.instruments.map((i) => [i.code, i.title])],
  };
  for (const [name, [path, pick]] of Object.entries(lists)) {
    const answer = await api(path);
    if (answer.status !== 200) continue;
    $(`list-${name}`).replaceChildren(...pick(answer.body).map(([code, label]) =>
      element("option", { value: code, label, text: label })));
  }
  $("desk").dataset.lists = "loaded";
}

// ----- Forms drawn from the catalogue -----

function fieldError(id, reason) {
  const error = $(`${id}-error`);
  const input = $(id);
  if (error) error.textContent = reason;
  if (input) {
    input.closest(".field")?.classList.toggle("invalid", Boolean(reason));
    if (reason) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

const PLACEHOLDERS = { date: "YYYY-MM-DD", "partial-date": "YYYY, YYYY-MM or YYYY-MM-DD",
                       state: "Chile or CHL" };
const HELP = {
  date: "Written 2023-09-12.",
  "partial-date": "To the year, the month or the day, as known: 2025, 2025-10 or 2025-10-08.",
  state: "Type a name or a code and pick it: Chile finds CHL.",
  lines: "One a line.",
};

function drawFields(container, fields, prefix) {
  for (const field of fields) container.append(drawField(field, `${prefix}.${field.name}`));
}

function drawField(field, path) {
  const id = `f-${path}`;
  const label = field.label + (field.required ? "" : " (optional)");
  if (field.kind === "group") {
    const group = element("fieldset", { class: "group", id });
    group.append(element("legend", { text: label }));
    drawFields(group, field.fields, path);
    return group;
  }
  if (field.kind === "list") {
    const list = element("fieldset", { class: "group", id, "data-path": path });
    list.append(element("legend", { text: label }));
    const items = element("div", { class: "items" });
    const add = element("button", { type: "button", text: `Add to ${field.label.toLowerCase()}` });
    add.addEventListener("click", () => {
      const index = items.children.length;
      const item = element("fieldset", { class: "group" });
      item.append(element("legend", { text: `${field.label} ${index + 1}` }));
      drawFields(item, field.fields, `${path}.${index}`);
      const remove = element("button", { type: "button", text: `Remove ${field.label.toLowerCase()} ${index + 1}` });
      remove.addEventListener("click", () => {
        // Drawn again without it, so that every item keeps the number the server names.
        const kept = collectList(field, path, list);
        kept.splice(index, 1);
        fill([field], path.slice(0, path.lastIndexOf(".")), { [field.name]: kept });
        changed();
      });
      item.append(remove);
      items.append(item);
      changed();
    });
    list.append(items, add);
    return list;
  }
  const help = field.help || HELP[field.kind] || "";
  const box = element("div", { class: "field" });
  const described = `${help ? `${id}-help ` : ""}${id}-error`;
  let input;
  if (field.kind === "text" || field.kind === "lines") {
    input = element("textarea", { id, rows: field.kind === "lines" ? 3 : 2,
                                  maxlength: field.kind === "text" ? field.max_length : null,
                                  "aria-describedby": described });
  } else if (field.kind === "choice") {
    input = element("select", { id, "aria-describedby": described });
    if (!field.required) input.append(element("option", { value: "", text: "" }));
    for (const option of field.options) input.append(element("option", { value: option, text: option }));
  } else {
    input = element("input", {
      id, "aria-describedby": described, placeholder: PLACEHOLDERS[field.kind],
      maxlength: field.max_length,
      list: field.kind === "state" ? "list-states" : field.list ? `list-${field.list}` : null,
      inputmode: ["date", "partial-date", "number"].includes(field.kind) ? "numeric" : null,
      autocomplete: "off",
    });
  }
  input.dataset.kind = field.kind;
  input.dataset.path = path;
  box.append(element("label", { for: id, text: label }), input);
  if (help) box.append(element("p", { class: "help", id: `${id}-help`, text: help }));
  box.append(element("p", { class: "error", id: `${id}-error` }));
  return box;
}

function collect(fields, prefix, root) {
  const found = {};
  for (const field of fields) {
    const path = `${prefix}.${field.name}`;
    let value;
    if (field.kind === "group") {
      value = collect(field.fields, path, root);
      if (Object.keys(value).length === 0) value = undefined;
    } else if (field.kind === "list") {
      // Every item drawn is sent, an empty one too: the server then names it by the number
      // it has on the page.
      value = collectList(field, path, root);
      if (value.length === 0) value = undefined;
    } else {
      const input = $(`f-${path}`);
      const raw = input.value.trim();
      if (raw === "") continue;
      if (field.kind === "lines") value = raw.split("\n").map((l) => l.trim()).filter(Boolean);
      else if (field.kind === "number") value = /^\d+$/.test(raw) ? Number(raw) : raw;
      else if (field.kind === "state") value = stateCodes.get(raw.toLowerCase()) || raw;
      else value = raw;
    }
    if (value !== undefined) found[field.name] = value;
  }
  return found;
}

function collectList(field, path, root) {
  const items = root.querySelector(`[data-path="${CSS.escape(path)}"] .items`);
  return Array.from(items.children, (_, i) => collect(field.fields, `${path}.${i}`, root));
}

function fill(fields, prefix, data) {
  for (const field of fields) {
    const path = `${prefix}.${field.name}`;
    const value = data?.[field.name];
    if (field.kind === "group") fill(field.fields, path, value || {});
    else if (field.kind === "list") {
      const list = $(`f-${path}`);
      list.querySelector(".items").replaceChildren();
      for (const item of value || []) {
        list.querySelector(":scope > button").click();
        fill(field.fields, `${path}.${list.querySelector(".items").children.length - 1}`, item);
      }
    } else {
      const input = $(`f-${path}`);
      input.value = value === undefined ? "" : field.kind === "lines" ? value.join("\n") : value;
    }
  }
}

// ----- Recording a decision -----

const form = $("record");
let correcting = null; // the entry being corrected: {position, summary}
let checked = null; // the submission last checked, as JSON, and the key to record it with
// A submission's idempotency key, by its JSON: the same submission checked again (after a
// lost answer, say) keeps its key, so that it is recorded once. Forgotten once recorded, or
// refused for good.
const keys = new Map();

function keyFor(json) {
  if (!keys.has(json)) keys.set(json, randomKey());
  return keys.get(json);
}

// An answer after which the same submission may be sent again with its key: none came
// back, the log was unavailable, or the key was rate-limited.
function retryable(status) {
  return status === 0 || status === 429 || status >= 500;
}

function typeSpec() { return spec.types[$("f-type").value]; }

function drawForm() {
  const type = typeSpec();
  $("f-type-help").textContent = type.description;
  const fields = $("fields");
  fields.replaceChildren();
  drawFields(fields, type.fields, "data");
  changed();
}

function submission() {
  const type = $("f-type").value;
  const data = collect(typeSpec().fields, "data", form);
  const made = correcting
    ? { type: "EntryCorrected", data: { position: correcting.position,
        reason: $("f-reason").value.trim(), replacement: { type, data } } }
    : { type, data };
  const day = $("f-effective_date").value.trim();
  const source = $("f-source").value.trim();
  if (day) made.effective_date = day;
  if (source) made.source = source;
  return made;
}

function changed() {
  checked = null;
  $("commit").disabled = true;
}

function clearProblems(box, scope) {
  box.hidden = true;
  box.replaceChildren();
  for (const error of scope.querySelectorAll(".error")) {
    if (error.id !== "f-token-error") fieldError(error.id.replace(/-error$/, ""), "");
  }
}

// The id of the form field a problem names ('data.state', 'effective_date', and for a
// correction 'data.replacement.data.state' and 'data.reason').
function fieldId(name) {
  let path = name;
  if (name === "data.position") return "f-position";
  if (correcting) {
    if (path === "data.reason") return "f-reason";
    path = path.replace(/^data\.replacement\.data\./, "data.");
  }
  return `f-${path}`;
}

function showProblem(box, problem, status, idOf) {
  box.hidden = false;
  box.replaceChildren(element("p", { text: problem?.detail || `The server answered ${status}.` }));
  const placed = [];
  for (const error of problem?.errors || []) {
    const id = idOf(error.field);
    if ($(id)) {
      fieldError(id, error.reason);
      placed.push(id);
    }
  }
  if (placed.length) $(placed[0]).focus();
  const named = problem?.contradicts || [];
  if (named.length) {
    const list = element("p", { text: "It contradicts " });
    named.forEach((c, i) => list.append(i ? ", " : "", entryLink(c.position)));
    box.append(list);
  }
}

function effectsTable(effects) {
  if (!effects.length) return element("p", { text: "No membership changes." });
  const table = element("table", {}, element("caption", { text: "Memberships it changes" }));
  table.append(element("thead", {}, element("tr", {},
    ...["Network", "State", "From", "Until", "Before", "After"].map((t) =>
      element("th", { scope: "col", text: t })))));
  const body = element("tbody");
  for (const e of effects) {
    body.append(element("tr", {}, ...[e.network, e.state, e.from, e.to || "still",
      e.before || "not in", e.after || "not in"].map((t) => element("td", { text: t }))));
  }
  table.append(body);
  return table;
}

function preview(box, answer, what) {
  const shown = element("div", { class: "preview" });
  const events = answer.events;
  if (answer.replayed) {
    shown.append(element("p", { text: `Already recorded (${events.map((e) => `entry ${e.position}`).join(", ")}): ${what} again appends nothing.` }));
  } else {
    shown.append(element("h3", { text: `What ${what} would record` }));
    const list = element("ul", { class: "summaries" });
    for (const e of events) list.append(element("li", { text: `${e.summary} (it would be entry ${e.position}, effective ${e.effective_date})` }));
    shown.append(list, effectsTable(answer.effects));
  }
  box.replaceChildren(shown);
}

async function check() {
  clearProblems($("record-problem"), form);
  $("preview").replaceChildren();
  const made = submission();
  const json = JSON.stringify(made);
  // With its key: a submission recorded already (its answer lost) is said to be.
  const answer = await api("/v1/events?dry_run=true", { method: "POST", body: made,
                                                         key: keyFor(json) });
  if (answer.status !== 200) {
    showProblem($("record-problem"), answer.body, answer.status, fieldId);
    return;
  }
  preview($("preview"), answer.body, "recording it");
  checked = { json, key: keyFor(json) };
  $("commit").disabled = answer.body.replayed || !writable;
}

// Record a submission checked (`pending`: its JSON and key) with its key; the answer if
// it was recorded, else null, the problem shown. After an answer that allows a retry, the
// button is enabled again: the same key records it once.
async function send(made, pending, button, problemBox, idOf) {
  button.disabled = true;
  const answer = await api("/v1/events", { method: "POST", body: made, key: pending.key });
  if (retryable(answer.status)) {
    button.disabled = false;
    showProblem(problemBox, answer.body, answer.status, idOf);
    return null;
  }
  keys.delete(pending.json);
  if (answer.status !== 201) {
    showProblem(problemBox, answer.body, answer.status, idOf);
    return null;
  }
  return answer;
}

function recorded(...parts) {
  const done = element("p", { class: "recorded", role: "status" });
  done.append(...parts, ".");
  return done;
}

async function commit() {
  const made = submission();
  if (!checked || checked.json !== JSON.stringify(made)) {
    changed();
    return;
  }
  const answer = await send(made, checked, $("commit"), $("record-problem"), fieldId);
  if (answer === null) {
    if ($("commit").disabled) checked = null; // refused for good
    return;
  }
  $("preview").replaceChildren(recorded(answer.replayed ? "Already recorded as " : "Recorded as ",
                                        entryLink(answer.body.position)));
  checked = null;
  if (correcting) stopCorrecting();
  await loadLists();
}

function startCorrecting(entry, summary) {
  let { type, data } = entry;
  if (type === "EntryCorrected") ({ type, data } = entry.data.replacement);
  correcting = { position: entry.position, summary };
  $("f-type").value = type;
  $("f-type").disabled = true;
  drawForm();
  fill(typeSpec().fields, "data", data);
  $("f-effective_date").value = entry.effective_date;
  $("f-source").value = entry.source || "";
  $("record-legend").textContent = `The correction of entry ${entry.position}`;
  $("correcting").hidden = false;
  $("correcting").replaceChildren(`Correcting ${summary}: change what was wrong, say why, check, then record. `,
                                  entryLink(entry.position, `Entry ${entry.position}`),
                                  " stays in the log; from the correction on, this fact counts in its place.");
  $("field-reason").hidden = false;
  $("cancel-correction").hidden = false;
  $("record-heading").scrollIntoView();
  $("f-reason").focus();
}

function stopCorrecting() {
  correcting = null;
  $("f-type").disabled = false;
  $("record-legend").textContent = "The decision";
  $("correcting").hidden = true;
  $("field-reason").hidden = true;
  $("f-reason").value = "";
  $("cancel-correction").hidden = true;
  drawForm();
}

// ----- An entry on record: correct or retract it -----

let found = null; // the entry found: {entry, summary}
let retraction = null;

async function findEntry(position) {
  clearProblems($("retract-problem"), $("undo"));
  $("found-entry").hidden = true;
  if (!/^\d+$/.test(position) || Number(position) < 1) {
    fieldError("f-position", "a position: a whole number from 1");
    return;
  }
  const answer = await api(`/v1/history?after=${Number(position) - 1}&limit=1`);
  const entry = answer.body?.entries?.[0];
  if (answer.status !== 200 || !entry || entry.position !== Number(position)) {
    fieldError("f-position", answer.body?.detail || `there is no entry at position ${position}`);
    return;
  }
  fieldError("f-position", "");
  found = { entry, summary: entry.summary };
  $("found-summary").replaceChildren(entryLink(entry.position, `Entry ${entry.position}`),
    `: ${entry.summary}` + (entry.retracted_by ? ` (already undone by entry ${entry.retracted_by})` : ""));
  $("found-entry").hidden = false;
  // An entry already undone is corrected through what undid it.
  $("correct-it").disabled = !writable || entry.type === "EntryRetracted" || Boolean(entry.retracted_by);
  retraction = null;
  $("retract-commit").disabled = true;
  $("retract-preview").replaceChildren();
}

function retractionOf() {
  return { type: "EntryRetracted", data: { position: found.entry.position,
           reason: $("f-retract-reason").value.trim() } };
}

function retractId(name) {
  if (name === "data.position") return "f-position";
  return name === "data.reason" ? "f-retract-reason" : `f-${name}`;
}

async function checkRetraction() {
  clearProblems($("retract-problem"), $("retract"));
  const made = retractionOf();
  const json = JSON.stringify(made);
  const answer = await api("/v1/events?dry_run=true", { method: "POST", body: made,
                                                         key: keyFor(json) });
  if (answer.status !== 200) {
    showProblem($("retract-problem"), answer.body, answer.status, retractId);
    return;
  }
  preview($("retract-preview"), answer.body, "retracting it");
  retraction = { json, key: keyFor(json) };
  $("retract-commit").disabled = answer.body.replayed || !writable;
}

async function commitRetraction() {
  const made = retractionOf();
  if (!retraction || retraction.json !== JSON.stringify(made)) return;
  const answer = await send(made, retraction, $("retract-commit"), $("retract-problem"),
                            retractId);
  if (answer === null) {
    if ($("retract-commit").disabled) retraction = null; // refused for good
    return;
  }
  $("retract-preview").replaceChildren(recorded("Retracted by ", entryLink(answer.body.position)));
  retraction = null;
}

// ----- A file of submissions -----

let batch = null; // {lines, submissions, key, ok}

function setPath(target, path, value) {
  const parts = path.split(".");
  let at = target;
  parts.slice(0, -1).forEach((part, i) => {
    const next = /^\d+$/.test(parts[i + 1]) ? [] : {};
    at[part] ??= next;
    at = at[part];
  });
  at[parts.at(-1)] = value;
}

function fieldKind(type, path) {
  let fields = spec.types[type]?.fields || [];
  let found = null;
  for (const part of path.split(".")) {
    if (/^\d+$/.test(part)) continue;
    found = fields.find((f) => f.name === part);
    if (!found) return null;
    fields = found.fields || [];
  }
  return found?.kind || null;
}

// RFC 4180: fields separated by commas, quoted with ", a quote doubled inside quotes;
// each record with the line it starts on.
function csvRecords(text) {
  const records = [];
  let record = [], value = "", quoted = false, line = 1, start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { value += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; value += c; }
    } else if (c === '"') quoted = true;
    else if (c === ",") { record.push(value); value = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(value);
      if (record.some((v) => v !== "")) records.push({ line: start, values: record });
      record = []; value = ""; line++; start = line;
    } else value += c;
  }
  record.push(value);
  if (record.some((v) => v !== "")) records.push({ line: start, values: record });
  return records;
}

function parseFile(name, text) {
  const lines = [], submissions = [], problems = [];
  if (/\.csv$/i.test(name) || text.trimStart().startsWith("type,")) {
    const [header, ...rows] = csvRecords(text);
    const names = header ? header.values.map((v) => v.trim()) : [];
    for (const row of rows) {
      const made = { data: {} };
      try {
        row.values.forEach((raw, i) => {
          const column = names[i];
          const value = raw.trim();
          if (!column || value === "") return;
          if (column === "expected_version") made.expected_version = /^\d+$/.test(value) ? Number(value) : value;
          else if (["type", "effective_date", "source"].includes(column)) made[column] = value;
          else if (column.startsWith("data.")) {
            const path = column.slice(5);
            const kind = fieldKind(row.values[names.indexOf("type")]?.trim(), path);
            let parsed = value;
            if (kind === "number" && /^\d+$/.test(value)) parsed = Number(value);
            else if (["list", "lines", "group"].includes(kind) && /^[[{]/.test(value)) parsed = JSON.parse(value);
            setPath(made.data, path, parsed);
          } else throw new Error(`unknown column ${column}: use type, effective_date, source, expected_version or data.FIELD`);
        });
      } catch (error) {
        problems.push({ line: row.line, detail: error.message });
        continue;
      }
      lines.push(row.line);
      submissions.push(made);
    }
  } else if (/^\s*(\[|\{\s*"events")/.test(text)) {
    // A JSON array of submissions, or the body POST /v1/events/batch takes.
    let items;
    try {
      const whole = JSON.parse(text);
      items = Array.isArray(whole) ? whole : whole.events;
      if (!Array.isArray(items)) throw new Error('expected a list, or {"events": [...]}');
    } catch (error) {
      problems.push({ line: 1, detail: `not JSON: ${error.message}` });
      items = [];
    }
    items.forEach((item, i) => {
      lines.push(`item ${i + 1}`);
      submissions.push(item);
    });
  } else {
    text.split(/\r?\n/).forEach((raw, i) => {
      if (!raw.trim()) return;
      let item;
      try { item = JSON.parse(raw); } catch (error) {
        problems.push({ line: i + 1, detail: `not JSON: ${error.message}` });
        return;
      }
      if (item && typeof item === "object" && !Array.isArray(item) &&
          Object.keys(item).length === 1 && "comment" in item) return;
      lines.push(i + 1);
      submissions.push(item);
    });
  }
  return { lines, submissions, problems };
}

function showBatchProblems(problems) {
  const box = $("batch-problems");
  box.hidden = false;
  const table = element("table", { id: "batch-problem-list" },
    element("caption", { text: `${problems.length} problem${problems.length === 1 ? "" : "s"}: nothing was recorded` }),
    element("thead", {}, element("tr", {}, element("th", { scope: "col", text: "Line" }),
                                 element("th", { scope: "col", text: "Problem" }))));
  const body = element("tbody");
  const number = (line) => Number(String(line).replace(/\D/g, "")) || 0;
  for (const p of problems.sort((a, b) => number(a.line) - number(b.line))) {
    body.append(element("tr", {}, element("td", { text: String(p.line) }),
                        element("td", { text: p.detail })));
  }
  table.append(body);
  box.replaceChildren(table);
}

async function checkFile() {
  $("batch-problems").hidden = true;
  $("batch-preview").replaceChildren();
  $("batch-commit").disabled = true;
  fieldError("f-file", "");
  batch = null;
  const file = $("f-file").files[0];
  if (!file) {
    fieldError("f-file", "choose a file first");
    return;
  }
  const text = await file.text();
  const parsed = parseFile(file.name, text);
  const problems = [...parsed.problems];
  const hash = await digest(text);
  const key = hash ? `file-${hash}` : randomKey();
  if (parsed.submissions.length === 0 && problems.length === 0) {
    fieldError("f-file", "the file holds no submission");
    return;
  }
  let answer = null;
  if (parsed.submissions.length) {
    answer = await api("/v1/events/batch?dry_run=true", { method: "POST",
      body: { events: parsed.submissions }, key: problems.length ? undefined : key });
    if (answer.status !== 200) {
      const reported = answer.body?.problems ||
        [{ index: answer.body?.index, detail: answer.body?.detail || `The server answered ${answer.status}.` }];
      for (const p of reported) {
        const line = p.index === undefined ? "?" : parsed.lines[p.index];
        problems.push({ line, detail: p.detail.replace(/^events\.\d+(\.|: )/, "") });
      }
    }
  }
  if (problems.length) {
    showBatchProblems(problems);
    return;
  }
  preview($("batch-preview"), answer.body, "recording the file");
  batch = { submissions: parsed.submissions, lines: parsed.lines, key };
  $("batch-commit").disabled = answer.body.replayed || !writable;
}

async function commitFile() {
  if (!batch) return;
  $("batch-commit").disabled = true;
  const answer = await api("/v1/events/batch", { method: "POST",
    body: { events: batch.submissions }, key: batch.key });
  if (retryable(answer.status)) {
    $("batch-commit").disabled = false; // the file's key: a retry records it once
    showBatchProblems([{ line: "-", detail: answer.body?.detail || `The server answered ${answer.status}.` }]);
    return;
  }
  if (answer.status !== 201) {
    const p = answer.body || {};
    showBatchProblems([{ line: p.index === undefined ? "?" : batch.lines?.[p.index] ?? p.index,
                         detail: p.detail || `The server answered ${answer.status}.` }]);
    batch = null;
    return;
  }
  const events = answer.body.events;
  $("batch-preview").replaceChildren(recorded(
    answer.replayed ? "This file was recorded before: nothing appended (" : `Recorded ${events.length} entr${events.length === 1 ? "y" : "ies"} (`,
    entryLink(events[0].position), events.length > 1 ? " to " : "",
    events.length > 1 ? entryLink(events.at(-1).position) : "", ")"));
  batch = null;
  await loadLists();
}

// ----- Wiring -----

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await signIn($("f-token").value.trim()) && $("f-position").value) {
    findEntry($("f-position").value.trim());
  }
});
$("sign-out").addEventListener("click", () => signOut());
$("f-type").addEventListener("change", drawForm);
form.addEventListener("input", changed);
form.addEventListener("submit", (event) => { event.preventDefault(); check(); });
$("commit").addEventListener("click", commit);
$("cancel-correction").addEventListener("click", stopCorrecting);
$("undo").addEventListener("submit", (event) => {
  event.preventDefault();
  findEntry($("f-position").value.trim());
});
$("correct-it").addEventListener("click", () => startCorrecting(found.entry, found.summary));
$("retract").addEventListener("input", () => { retraction = null; $("retract-commit").disabled = true; });
$("retract").addEventListener("submit", (event) => { event.preventDefault(); checkRetraction(); });
$("retract-commit").addEventListener("click", commitRetraction);
$("batch").addEventListener("input", () => { batch = null; $("batch-commit").disabled = true; });
$("batch").addEventListener("submit", (event) => { event.preventDefault(); checkFile(); });
$("batch-commit").addEventListener("click", commitFile);

drawForm();
const asked = $("f-position").value.trim(); // the entry the page was opened on, if any
const kept = sessionStorage.getItem(TOKEN);
if (kept) {
  signIn(kept).then((ok) => {
    if (ok && asked) findEntry(asked);
  });
}
