// The dashboard: sign in, status, schedule (create/pause/resume/delete), task log, plots.
const $ = sel => document.querySelector(sel);
// Re-render only what changed: the 3 s refresh must not replace a button under the user's pointer.
function setHtml(el, html) { if (el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; } }
let actions = [];

async function signIn(token) {
  Api.setToken(token);
  const r = await Api.get("/");
  if (r.status === 401) {
    $("#signin-error").textContent = (r.data && r.data.detail) || "invalid token";
    Api.setToken("");
    $("#app").hidden = true;
    return;
  }
  $("#signin-error").textContent = "";
  $("#app").hidden = false;
  const caps = await Api.get("/capabilities/");
  actions = caps.data.actions;
  $("#new-entry select[name=action]").innerHTML =
    actions.map(a => `<option value="${escapeHtml(a.name)}">${escapeHtml(a.name)}</option>`).join("");
  await refresh();
}

async function refresh() {
  await Promise.all([showStatus(), showSchedule(), showTasksAndAcquisitions()]);
}

async function showStatus() {
  const s = (await Api.get("/status")).data;
  const radio = s.radio || {};
  const last = s.last_task ? `${escapeHtml(pathOf(s.last_task.schedule_entry).split("/")[2])} #${s.last_task.task_id}: ` +
    `${escapeHtml(s.last_task.status)} ${escapeHtml(s.last_task.detail || "")}` : "none";
  const disk = s.disk ? `${(s.disk.used_bytes / 1e6).toFixed(1)} MB used, ${(s.disk.free_bytes / 1e9).toFixed(1)} GB free` : "";
  setHtml($("#status"), `
    <dt>scheduler</dt><dd><span id="scheduler-state">${escapeHtml(s.scheduler)}</span>
      <span class="detail" id="scheduler-detail">${escapeHtml(s.scheduler_detail || "")}</span></dd>
    <dt>radio</dt><dd>${escapeHtml(radio.driver || "")} <code>${escapeHtml(radio.args || "")}</code>
      <span class="${radio.healthy ? "healthy" : "unhealthy"}">${radio.healthy ? "healthy" : "not healthy: " + escapeHtml(radio.detail || "")}</span></dd>
    <dt>disk</dt><dd>${disk}</dd>
    <dt>last task</dt><dd>${last}</dd>
    <dt>queue</dt><dd>${s.task_queue.length} task(s) in the next window</dd>`);
}

async function showSchedule() {
  const entries = (await Api.get("/schedule/")).data;
  const when = t => t ? new Date(t * 1000).toISOString().replace(".000Z", "Z") : "—";
  setHtml($("#schedule tbody"), entries.map(e => `
    <tr data-name="${escapeHtml(e.name)}"><td>${escapeHtml(e.name)}</td><td>${escapeHtml(e.action)}</td>
      <td>${e.priority}</td><td>${e.interval ?? "once"}</td><td>${when(e.next_task_time)}</td><td>${e.next_task_id}</td>
      <td>${e.is_active ? "active" : "paused/done"}</td>
      <td><button data-act="toggle">${e.is_active ? "pause" : "resume"}</button>
          <button data-act="delete">delete</button></td></tr>`).join(""));
}

async function showTasksAndAcquisitions() {
  const overview = (await Api.get("/tasks/")).data;
  const rows = [];
  for (const item of overview) {
    const tasks = (await Api.get(pathOf(item.url) + "?offset=" + Math.max(0, item.tasks - 20))).data;
    rows.push(...tasks.map(t => ({ entry: pathOf(item.url).split("/")[2], ...t })));
  }
  rows.sort((a, b) => (b.started > a.started ? 1 : -1));
  setHtml($("#tasks tbody"), rows.slice(0, 30).map(t => `
    <tr class="${escapeHtml(t.status)}"><td>${escapeHtml(t.entry)}</td><td>${t.task_id}</td><td>${escapeHtml(t.status)}</td>
      <td>${escapeHtml(t.started)}</td><td>${t.duration_s ? t.duration_s.toFixed(3) + " s" : ""}</td>
      <td>${escapeHtml(t.detail || "")}</td></tr>`).join(""));
  const acq = (await Api.get("/acquisitions/")).data;
  const parts = [];
  for (const item of acq) {
    const entry = pathOf(item.url).split("/")[2];
    const list = (await Api.get(pathOf(item.url) + "?offset=" + Math.max(0, item.acquisitions_available - 10))).data;
    parts.push(`<div><strong>${escapeHtml(entry)}</strong> ` + list.map(a =>
      `<button class="acq" data-entry="${escapeHtml(entry)}" data-task="${a.task_id}">#${a.task_id}</button>`).join("") + `</div>`);
  }
  setHtml($("#acquisitions"), parts.join("") || "<p>none yet</p>");
}

async function showAcquisition(entry, taskId) {
  const r = await Api.get(`/acquisitions/${encodeURIComponent(entry)}/${taskId}/spectrum`);
  $("#plot-panel").hidden = false;
  $("#plot-title").textContent = `${entry} #${taskId}` + (r.ok ? ` — ${r.data.datetime}` : "");
  if (!r.ok) { $("#plot").textContent = (r.data && r.data.detail) || "no spectrum"; return; }
  drawSpectrum($("#plot"), r.data);
  const link = $("#download");
  link.href = "#";
  link.onclick = async ev => {  // the archive needs the token header, so fetch it and save a blob
    ev.preventDefault();
    const resp = await fetch(`/api/v1/acquisitions/${encodeURIComponent(entry)}/${taskId}/archive`,
      { headers: { Authorization: "Token " + Api.token() } });
    const url = URL.createObjectURL(await resp.blob());
    const a = document.createElement("a");
    a.href = url; a.download = `${entry}_${taskId}.sigmf`; a.click();
    URL.revokeObjectURL(url);
  };
  await showProducts(entry, taskId);
  const entryInfo = await Api.get(`/schedule/${encodeURIComponent(entry)}/`);
  const repeating = entryInfo.ok && entryInfo.data.interval;
  $("#waterfall").hidden = $("#waterfall-title").hidden = !repeating;
  if (repeating) {
    const list = (await Api.get(`/acquisitions/${encodeURIComponent(entry)}/`)).data.slice(-30).reverse();
    const spectra = [];
    for (const a of list) {
      const s = await Api.get(`/acquisitions/${encodeURIComponent(entry)}/${a.task_id}/spectrum`);
      if (s.ok && s.data.detectors.mean) spectra.push(s.data.detectors.mean);
    }
    if (spectra.length) drawWaterfall($("#waterfall"), spectra);
  }
}

// A recording with several data products (the SEA action's): their plots, one channel at a time,
// and the channel power summaries.
async function showProducts(entry, taskId) {
  const r = await Api.get(`/acquisitions/${encodeURIComponent(entry)}/${taskId}/products`);
  const many = r.ok && r.data.captures.some(c => c.products.length > 1);
  $("#products-panel").hidden = !many;
  if (!many) return;
  const captures = r.data.captures;
  const pick = k => {
    drawProducts($("#products"), captures[k]);
    document.querySelectorAll("#channels button").forEach(b => b.classList.toggle("selected", Number(b.dataset.capture) === k));
  };
  $("#channels").innerHTML = captures.map((c, k) =>
    `<button data-capture="${k}">${(c.frequency / 1e6).toFixed(1)} MHz</button>`).join("");
  $("#channels").onclick = ev => { const b = ev.target.closest("button"); if (b) pick(Number(b.dataset.capture)); };
  const s = r.data.channel_summaries;
  const cell = (name, k) => s[name] ? `${s[name][k].toFixed(1)} dBm` : "";
  $("#summaries tbody").innerHTML = captures.map((c, k) => `<tr><td>${(c.frequency / 1e6).toFixed(1)} MHz</td>
    <td>${cell("max_of_max_channel_powers", k)}</td><td>${cell("mean_channel_powers", k)}</td>
    <td>${cell("median_channel_powers", k)}</td><td>${cell("median_of_mean_channel_powers", k)}</td></tr>`).join("");
  pick(0);
}

async function createEntry(form) {
  form.querySelectorAll(".error").forEach(e => e.textContent = "");
  const value = name => form.elements[name].value.trim();
  const body = { name: value("name"), action: value("action") };
  if (value("priority") !== "") body.priority = Number(value("priority"));
  body.start = Math.floor(Date.now() / 1000) + Number(value("start_in") || 1);
  if (value("interval") !== "") body.interval = Number(value("interval"));
  if (value("stop") !== "") { body.stop = Number(value("stop")); body.relative_stop = true; }
  const r = await Api.call("POST", "/schedule/", body);
  if (r.status === 201) { form.elements.name.value = ""; await refresh(); return; }
  for (const [field, messages] of Object.entries(r.data || {})) {
    const slot = form.querySelector(`.error[data-field="${field}"]`) || form.querySelector('.error[data-field="detail"]');
    slot.textContent = Array.isArray(messages) ? messages.join(" ") : String(messages);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#signin").addEventListener("submit", ev => { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#signout").addEventListener("click", () => { Api.setToken(""); $("#app").hidden = true; });
  $("#new-entry").addEventListener("submit", ev => { ev.preventDefault(); createEntry(ev.target); });
  $("#schedule").addEventListener("click", async ev => {
    const button = ev.target.closest("button"); if (!button) return;
    const name = button.closest("tr").dataset.name;
    if (button.dataset.act === "toggle") {
      await Api.call("PATCH", `/schedule/${encodeURIComponent(name)}/`, { is_active: button.textContent === "resume" });
    } else if (button.dataset.act === "delete") {
      const r = await Api.call("DELETE", `/schedule/${encodeURIComponent(name)}/`);
      if (r.status === 400) alert(r.data.detail);
    }
    await refresh();
  });
  $("#acquisitions").addEventListener("click", ev => {
    const b = ev.target.closest("button.acq");
    if (b) showAcquisition(b.dataset.entry, b.dataset.task);
  });
  if (Api.token()) signIn(Api.token());
  setInterval(() => { if (!$("#app").hidden) refresh(); }, 3000);
});
