// The public API, with the token kept in localStorage. Every data request goes through here.
const Api = {
  token() { return localStorage.getItem("scos-token") || ""; },
  setToken(t) { if (t) localStorage.setItem("scos-token", t); else localStorage.removeItem("scos-token"); },
  async call(method, path, body) {
    const options = { method, headers: { "Authorization": "Token " + this.token() } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch("/api/v1" + path, options);
    let data = null;
    if (response.status !== 204) { try { data = await response.json(); } catch (e) { data = null; } }
    return { status: response.status, ok: response.ok, data };
  },
  get(path) { return this.call("GET", path); },
};

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function pathOf(url) { return new URL(url).pathname.replace(/^\/api\/v1/, ""); }
