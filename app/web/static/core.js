// 守望 web app, the shared part: building elements, calling the API, the router, the words for codes.
// Every figure and rule comes from the API's answers; the page only shows them. Text is always set as
// text, never as HTML.

export const API = "/api/v1";
export const STATUS = {
  not_monitored: "未纳入监测",
  under_verification: "核实中",
  monitored: "监测中",
  risk_eliminated: "风险已消除",
};
export const LEVEL = { high: "高风险", medium: "中风险", low: "低风险" };
// the case procedure's steps and actions by name, as the server applies them (GET /cases/procedure),
// kept on the phone so that pages opened offline still name them
export const STEP = {};
export const ACTION = {};
const PROCEDURE_KEY = "shouwang-procedure";

function applyProcedure(procedure) {
  for (const s of procedure.steps) STEP[s.step] = s.label_zh;
  for (const a of procedure.actions) ACTION[a.action] = a.label_zh;
}

try {
  const kept = localStorage.getItem(PROCEDURE_KEY);
  if (kept) applyProcedure(JSON.parse(kept));
} catch {
  // a damaged copy: the server's answer replaces it after login
}

async function learnProcedure() {
  try {
    const procedure = await api("/cases/procedure");
    applyProcedure(procedure);
    localStorage.setItem(PROCEDURE_KEY, JSON.stringify(procedure));
  } catch {
    // offline: the copy kept from the last time names the steps
  }
}
export const ROLE = {
  village_cadre: "村干部",
  township_reviewer: "乡镇审核员",
  district_officer: "区乡村振兴局",
  department_user: "部门",
  admin: "管理员",
};

// ---- the session ---------------------------------------------------------------------------------

export const session = { me: null };
// who is logged in (account name, role, region: no household's data), so the app can start without a
// network and show what works offline (the drafts, new entries)
const ME_KEY = "shouwang-me";

const logoutHooks = [];

/** Run `fn` when the user logs out (before the login page shows), e.g. to forget the drafts. */
export function onLogout(fn) {
  logoutHooks.push(fn);
}

// ---- building the page ---------------------------------------------------------------------------

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// The page being drawn (the part of the address before "?"): a page that finishes loading after the user
// has moved on to another is not drawn over it.
let drawing = null;

function pathOf(hash) {
  return (hash || "#/").slice(2).split("?")[0];
}

/** Change the address without a new page (e.g. to keep a page's filters), and keep drawing this page. */
export function replaceAddress(hash) {
  history.replaceState(null, "", hash);
  drawing = pathOf(hash);
}

export function show(...nodes) {
  if (drawing !== null && pathOf(location.hash) !== drawing) return;
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
  const heading = view.querySelector("h1");
  if (heading) {
    // a screen reader and a keyboard start on the new page's heading
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    document.title = `${heading.textContent} · 守望`;
  }
}

export function say(text) {
  document.getElementById("status").textContent = text || "";
}

// A message for the page the user is sent to next (e.g. "报告已发送" after a form sends them back).
let flashed = "";

export function flash(text) {
  flashed = text;
  say(text);
}

/** Who did something, as a user reads it: a person's account name, or which part of the system. */
export function actorName(actor) {
  const SYSTEM = {
    "system:escalation": "系统（逾期提醒与升级）",
    "system:risk_scorer": "系统（风险评分）",
    "system:relief_platform": "系统（省政府救助平台）",
    "system:department": "系统（部门数据）",
  };
  if (!actor) return "—";
  if (SYSTEM[actor]) return SYSTEM[actor];
  return String(actor).startsWith("system:") ? "系统" : actor;
}

export function yuan(value) {
  if (value === null || value === undefined) return "—";
  const figure = Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return h("span", { class: "figure" }, `${figure} 元`);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "—";
}

/** A labelled field: <label for> and its input, select or textarea (`control`), with an optional hint. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { id: hintId, class: "hint muted" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/** Show an API refusal on a form: the server's sentence at the form, and each field's own message beside
that field (every field the server named, from `errors`, or the one `field`). */
export function showRefusal(form, error) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
  const box = form.querySelector(".form-error") || form.appendChild(h("p", { class: "form-error", role: "alert" }));
  const body = error instanceof ApiError && error.body ? error.body : null;
  const each = body && Array.isArray(body.errors) && body.errors.length ? body.errors : body && body.field ? [body] : [];
  box.replaceChildren(refusalText(error));
  if (each.length > 1) {
    const label = (e) => {
      const input = e.field ? form.querySelector(`[data-field="${CSS.escape(e.field)}"]`) || form.querySelector(`[name="${CSS.escape(String(e.field).split(".").pop())}"]`) : null;
      const named = input && input.id ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
      return named ? named.textContent : e.field;
    };
    box.replaceChildren(`${errorText(error)}：`, h("ul", {}, each.map((e) => h("li", {}, e.field ? `${label(e)}：${e.message_zh || e.message}` : e.message_zh || e.message))));
  }
  const marked = new Set();
  for (const e of each) {
    // "members.2.id_number" → the third member's id_number when the form numbers its rows, else any
    const parts = String(e.field || "").split(".");
    const name = parts.filter((part) => !/^\d+$/.test(part)).pop();
    if (!name || marked.has(e.field)) continue;
    const input = form.querySelector(`[data-field="${CSS.escape(e.field)}"]`) || form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    marked.add(e.field);
    input.setAttribute("aria-invalid", "true");
    const after = input.type === "checkbox" ? input.parentElement : input;
    after.insertAdjacentElement("afterend", h("p", { class: "field-error" }, e.message_zh || e.message));
  }
}

// ---- the API -------------------------------------------------------------------------------------

export function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("sw_csrf="));
  return found ? decodeURIComponent(found.slice("sw_csrf=".length)) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function call(path, { method = "GET", json, form, blob, multipart, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  let body;
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (form) body = new URLSearchParams(form);
  else if (multipart) body = multipart; // FormData: the browser writes its Content-Type and boundary
  else if (blob) {
    headers["Content-Type"] = blob.type || "application/octet-stream";
    body = blob;
  }
  else if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(API + path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  if (response.headers.get("ETag") && data && typeof data === "object") data.etag = response.headers.get("ETag");
  return data;
}

// An expired access cookie is renewed once from the refresh cookie (one renewal shared by every request
// that found it expired: the server treats a second use of a refresh token as theft); otherwise login.
let renewal = null;

export async function api(path, options) {
  try {
    return await call(path, options);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || path.startsWith("/auth/session")) throw error;
    renewal = renewal || call("/auth/session/refresh", { method: "POST" }).finally(() => (renewal = null));
    try {
      await renewal;
    } catch {
      session.me = null;
      location.hash = "#/login";
      throw error;
    }
    return call(path, options);
  }
}

/** What the API answers, or null where the caller may not see it or it does not exist (403, 404). */
export async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}

const MESSAGES = {
  unauthorized: "登录已过期，请重新登录",
  forbidden: "您没有这项权限",
  not_found: "找不到",
  conflict: "与已有的数据冲突",
  invalid: "填写的内容有误",
  too_many_requests: "尝试次数太多，请稍后再试",
  unavailable: "服务暂时不可用，请稍后再试",
};

/** A short Chinese sentence for an error (no server detail). */
export function errorText(error) {
  if (error instanceof ApiError) return MESSAGES[error.body && error.body.code] || `出错了（${error.status}）`;
  return "无网络连接：连上网络后会自动重试";
}

/** A refusal as the user needs it on a form: the sentence, and the server's own message and field. */
export function refusalText(error) {
  if (!(error instanceof ApiError) || !error.body || !error.body.message) return errorText(error);
  if (error.body.message_zh) return `${errorText(error)}：${error.body.message_zh}`;
  const only = Array.isArray(error.body.errors) && error.body.errors.length === 1 ? error.body.errors[0] : null;
  if (only && only.message_zh) return `${errorText(error)}：${only.message_zh}`; // "verify: invalid body" says less
  const where = error.body.field ? `（${error.body.field}）` : "";
  return `${errorText(error)}：${error.body.message}${where}`;
}

// ---- the router ------------------------------------------------------------------------------------

const routes = [];
const homes = {};
const navItems = [];

/** A page at `#/<path>`: `pattern` is a RegExp on the part after "#/", its groups are the arguments. */
export function page(pattern, handler) {
  routes.push([pattern, handler]);
}

/** The page a role lands on at "#/". */
export function home(roles, handler) {
  for (const role of roles) homes[role] = handler;
}

/** A link in the top bar for these roles. */
export function nav(roles, href, label) {
  navItems.push({ roles, href, label });
}

function notFoundPage() {
  show(h("h1", {}, "找不到"), h("p", {}, "没有这一项，或不在您的辖区。"), h("p", {}, h("a", { href: "#/" }, "返回")));
}

function loginPage() {
  const form = h(
    "form",
    { class: "login card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "登录守望"),
    h("label", { for: "username" }, "用户名"),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, "密码"),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "登录"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    try {
      remember(
        await call("/auth/session", {
          method: "POST",
          form: { username: form.username.value, password: form.password.value },
        }),
      );
      await learnProcedure();
      if (location.hash === "#/" || location.hash === "") route();
      else location.hash = "#/";
    } catch (error) {
      say(error instanceof ApiError && error.status === 401 ? "用户名或密码不对" : errorText(error));
    }
  });
  show(form);
}

function drawBar() {
  const me = session.me;
  document.getElementById("who").textContent = me ? `${me.username} · ${ROLE[me.role] || me.role}` : "";
  document.getElementById("logout").hidden = !me;
  const links = me ? navItems.filter((n) => n.roles.includes(me.role)) : [];
  document
    .getElementById("nav")
    .replaceChildren(...links.map((n) => h("a", { href: n.href, "aria-current": location.hash === n.href ? "page" : null }, n.label)));
}

function remember(me) {
  session.me = me;
  session.unconfirmed = false;
  localStorage.setItem(ME_KEY, JSON.stringify({ username: me.username, role: me.role, region_code: me.region_code }));
}

// The address being drawn and its promise: asking for the same address again while it is drawn (a second
// hashchange, a double tap on a link) waits for that drawing instead of drawing the page twice, which
// would replace a form the user has begun to fill in.
let routing = null;

export function route() {
  const hash = location.hash || "#/";
  if (routing && routing.hash === hash) return routing.done;
  const done = drawPage(hash).finally(() => {
    if (routing && routing.done === done) routing = null;
  });
  routing = { hash, done };
  return done;
}

async function drawPage(hash) {
  say(flashed);
  flashed = "";
  if (hash === "#/login") {
    drawing = null;
    drawBar();
    return loginPage();
  }
  if (!session.me && !csrfToken()) {
    // no session cookie: the login page, without asking the server (and logging a 401)
    location.hash = "#/login";
    return;
  }
  if (!session.me) {
    try {
      remember(await api("/auth/me"));
      await learnProcedure();
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // no network: the session may well be fine; what works offline works, and the app asks again
        // when the phone is back online
        const kept = localStorage.getItem(ME_KEY);
        if (!kept) {
          show(h("h1", {}, "无网络连接"), h("p", {}, "连上网络后会自动重试。"));
          return;
        }
        session.me = JSON.parse(kept);
        session.unconfirmed = true;
      } else {
        location.hash = "#/login";
        return;
      }
    }
  }
  drawBar();
  const path = pathOf(hash);
  drawing = path;
  try {
    for (const [pattern, handler] of routes) {
      const found = path.match(pattern);
      if (found) return await handler(...found.slice(1));
    }
    if (path === "" && homes[session.me.role]) return await homes[session.me.role]();
    notFoundPage();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) return notFoundPage();
    const retry = h("button", { type: "button", onclick: () => route() }, "重试");
    if (!(error instanceof ApiError)) {
      show(h("h1", {}, "无网络连接"), h("p", {}, "这一页要连上网络才能打开；已填写的报告和新增农户会保存在手机上，连网后自动发送。"), retry);
      return;
    }
    show(h("h1", {}, "出错了"), h("p", {}, errorText(error)), retry);
  }
}

const logoutChecks = [];

/** `fn()` returns a warning (or "") that the user must confirm before logging out, e.g. unsent drafts. */
export function beforeLogout(fn) {
  logoutChecks.push(fn);
}

export async function logout() {
  if (!navigator.onLine) {
    // the session lives in HttpOnly cookies only the server can end: logging out offline would leave it
    say("没有网络，无法退出登录：连上网络后再退出。");
    return;
  }
  for (const check of logoutChecks) {
    const warning = await check();
    if (warning && !window.confirm(warning)) return;
  }
  try {
    await call("/auth/session", { method: "DELETE" });
  } catch (error) {
    if (!(error instanceof ApiError)) {
      say("没有网络，无法退出登录：连上网络后再退出。");
      return;
    }
    // the session had already ended (401): the page forgets it either way
  }
  for (const hook of logoutHooks) {
    try {
      await hook();
    } catch {
      // forgetting must not stop the logout
    }
  }
  session.me = null;
  localStorage.removeItem(ME_KEY);
  drawBar();
  if (location.hash === "#/login") loginPage();
  else location.hash = "#/login";
}

export function start() {
  document.getElementById("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => {
    if (!session.me || session.unconfirmed) {
      session.me = null; // ask the server who is logged in, now that it can answer
      route();
    }
  });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  route();
}
