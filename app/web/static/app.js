// 守望 web app: plain modules, no build step, nothing fetched from elsewhere. Every figure and rule comes
// from the API's answers; the page only shows them. Text is always set as text, never as HTML.

const API = "/api/v1";
const STATUS = {
  not_monitored: "未纳入监测",
  under_verification: "核实中",
  monitored: "监测中",
  risk_eliminated: "风险已消除",
};
const LEVEL = { high: "高风险", medium: "中风险", low: "低风险" };
const STEP = {
  village_verification: "入户核实",
  democratic_review: "民主评议",
  public_notice: "公示",
  township_review: "乡镇审核",
  district_decision: "县级审定",
};
const ROLE = {
  village_cadre: "村干部",
  township_reviewer: "乡镇审核员",
  district_officer: "区乡村振兴局",
  department_user: "部门",
  admin: "管理员",
};

let me = null;

// ---- small helpers ---------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
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

function show(...nodes) {
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

function say(text) {
  document.getElementById("status").textContent = text || "";
}

function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("sw_csrf="));
  return found ? decodeURIComponent(found.slice("sw_csrf=".length)) : "";
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(path, { method = "GET", json, form } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (form) body = new URLSearchParams(form);
  else if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(API + path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// An expired access cookie is renewed once from the refresh cookie (one renewal shared by every request
// that found it expired: the server treats a second use of a refresh token as theft); otherwise login.
let renewal = null;

async function api(path, options) {
  try {
    return await call(path, options);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || path.startsWith("/auth/session")) throw error;
    renewal = renewal || call("/auth/session/refresh", { method: "POST" }).finally(() => (renewal = null));
    try {
      await renewal;
    } catch {
      me = null;
      location.hash = "#/login";
      throw error;
    }
    return call(path, options);
  }
}

const MESSAGES = {
  unauthorized: "登录已过期，请重新登录",
  forbidden: "您没有这项权限",
  not_found: "找不到",
  conflict: "数据已被他人修改，请刷新后重试",
  invalid: "填写的内容有误",
  too_many_requests: "尝试次数太多，请稍后再试",
  unavailable: "服务暂时不可用，请稍后再试",
};

function errorText(error) {
  if (error instanceof ApiError) return MESSAGES[error.body && error.body.code] || `出错了（${error.status}）`;
  return "无网络连接：连上网络后会自动重试";
}

function yuan(value) {
  if (value === null || value === undefined) return "—";
  const figure = Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return h("span", { class: "figure" }, `${figure} 元`);
}

function lineFor(lines, year) {
  const known = lines.filter((l) => l.year <= year).sort((a, b) => a.year - b.year);
  const chosen = known.length ? known[known.length - 1] : lines[0];
  return chosen ? Number(chosen.amount) : null;
}

// ---- pages -------------------------------------------------------------------------------------------

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
      me = await call("/auth/session", {
        method: "POST",
        form: { username: form.username.value, password: form.password.value },
      });
      location.hash = "#/";
    } catch (error) {
      say(error instanceof ApiError && error.status === 401 ? "用户名或密码不对" : errorText(error));
    }
  });
  show(form);
}

async function householdsPage() {
  // a department sees households, not the risk findings or the village's visit list
  const village = me.role === "village_cadre";
  const none = { items: [], stale_report_months: 0 };
  const [page, due, high, medium] = await Promise.all([
    api("/households?page_size=500"),
    village ? api("/visits/due?page_size=500") : none,
    village ? api("/households?page_size=500&risk_level=high") : none,
    village ? api("/households?page_size=500&risk_level=medium") : none,
  ]);
  const stale = new Set(due.items.map((d) => d.household_id));
  const level = new Map([
    ...medium.items.map((x) => [x.id, "medium"]),
    ...high.items.map((x) => [x.id, "high"]),
  ]);
  const search = h("input", {
    id: "search",
    type: "search",
    inputmode: "search",
    placeholder: "户编号",
    "aria-describedby": "search-help",
  });
  const list = h("ul", { class: "list", id: "households" });
  const render = () => {
    const term = search.value.trim().toUpperCase();
    const shown = page.items.filter((x) => !term || x.household_no.toUpperCase().includes(term));
    list.replaceChildren(
      ...shown.map((x) =>
        h(
          "li",
          { class: "card" },
          h(
            "a",
            { href: `#/households/${x.id}` },
            h(
              "div",
              { class: "row" },
              h("span", { class: "grow" }, x.household_no),
              level.has(x.id) ? h("span", { class: `badge ${level.get(x.id)}` }, LEVEL[level.get(x.id)]) : null,
              stale.has(x.id) ? h("span", { class: "badge stale" }, "久未报告") : null,
            ),
            h("div", { class: "muted" }, `${x.household_type} · ${STATUS[x.monitoring_status] || x.monitoring_status} · ${x.size} 人`),
          ),
        ),
      ),
    );
    if (!shown.length) list.append(h("li", { class: "muted" }, "没有符合的农户"));
  };
  search.addEventListener("input", render);
  render();
  show(
    h("h1", {}, "农户"),
    h(
      "p",
      { class: "muted" },
      village ? `共 ${page.total} 户；${stale.size} 户超过 ${due.stale_report_months} 个月没有报告，需入户走访。` : `共 ${page.total} 户。`,
    ),
    h("label", { for: "search" }, "按户编号查找"),
    h("p", { id: "search-help", class: "muted" }, "输入户编号的一部分"),
    h("div", { class: "search" }, search),
    list,
  );
}

async function householdPage(id) {
  const [household, reports, policy] = await Promise.all([
    api(`/households/${id}`),
    api(`/households/${id}/reports?page_size=20`),
    api("/policy"),
  ]);
  let risk = null;
  try {
    risk = await api(`/households/${id}/risk`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const lines = policy.data.monitoring_lines;
  const members = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, "姓名"), h("th", {}, "关系"), h("th", {}, "出生年"), h("th", {}, "健康"), h("th", {}, "劳动能力"))),
      h(
        "tbody",
        {},
        household.members
          .filter((m) => m.active)
          .map((m) =>
            h("tr", {}, h("td", {}, m.name), h("td", {}, m.relation), h("td", {}, m.birth_year), h("td", {}, m.health || "—"), h("td", {}, m.labour_capacity || "—")),
          ),
      ),
    ),
  );
  const reportRows = reports.items
    .filter((r) => !r.superseded_by)
    .map((r) => {
      const year = Number(r.period_end.slice(0, 4));
      const line = lineFor(lines, year);
      const pc = r.per_capita_net_income === null ? null : Number(r.per_capita_net_income);
      const below = pc !== null && line !== null && pc < line;
      return h(
        "tr",
        {},
        h("td", {}, h("span", { class: "figure" }, r.period_end)),
        h(
          "td",
          { class: below ? "below" : null },
          yuan(pc),
          r.income_basis.estimated ? h("span", { class: "figure" }, "（估算）") : "",
          below ? h("div", {}, "低于监测线") : "",
        ),
        h("td", {}, yuan(line)),
      );
    });
  const riskBlock = risk
    ? h(
        "div",
        { class: "card" },
        h("div", { class: "row" }, h("span", { class: "grow" }, "风险等级"), h("span", { class: `badge ${risk.level}` }, LEVEL[risk.level])),
        h("ul", {}, risk.reasons.map((r) => h("li", {}, r.text))),
        risk.factors && risk.factors.length
          ? [h("p", { class: "muted" }, "预警模型的主要因素："), h("ul", {}, risk.factors.map((f) => h("li", {}, f.text)))]
          : null,
      )
    : h("p", { class: "muted" }, "尚无评分结果。");
  show(
    h("p", {}, h("a", { href: "#/" }, me.role === "village_cadre" || me.role === "department_user" ? "← 农户列表" : "← 待办案件")),
    h("h1", {}, `农户 ${household.household_no}`),
    h("p", { class: "muted" }, `${household.household_type} · ${STATUS[household.monitoring_status] || household.monitoring_status} · 地址 ${household.address || "—"}`),
    h("h2", {}, "风险"),
    riskBlock,
    h("h2", {}, "家庭成员"),
    members,
    h("h2", {}, "报告（人均纯收入与当年监测线）"),
    reportRows.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("thead", {}, h("tr", {}, h("th", {}, "截至"), h("th", {}, "近 12 个月人均纯收入"), h("th", {}, "当年监测线"))),
            h("tbody", {}, reportRows),
          ),
        )
      : h("p", { class: "muted" }, "尚无报告。"),
  );
}

async function inboxPage() {
  const inbox = await api("/inbox?page_size=200");
  show(
    h("h1", {}, "待办案件"),
    h("p", { class: "muted" }, `共 ${inbox.total} 件，按到期时间排列。`),
    h(
      "ul",
      { class: "list" },
      inbox.items.map((c) =>
        h(
          "li",
          { class: "card" },
          h(
            "div",
            { class: "row" },
            h("span", { class: "grow" }, `案件 ${c.id} · ${STEP[c.step] || c.step}`),
            c.overdue ? h("span", { class: "badge high" }, "已逾期") : null,
          ),
          h("div", { class: "muted" }, `到期 ${new Date(c.due_at).toLocaleString("zh-CN")}`),
        ),
      ),
    ),
  );
}

async function route() {
  say("");
  const hash = location.hash || "#/";
  if (hash === "#/login") return loginPage();
  if (!me && !csrfToken()) {
    // no session cookie: the login page, without asking the server (and logging a 401)
    location.hash = "#/login";
    return loginPage();
  }
  if (!me) {
    try {
      me = await api("/auth/me");
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // no network: the session may well be fine; try again when the phone is back online
        show(h("h1", {}, "无网络连接"), h("p", {}, "连上网络后会自动重试。"));
        return;
      }
      location.hash = "#/login";
      return loginPage();
    }
  }
  document.getElementById("who").textContent = `${me.username} · ${ROLE[me.role] || me.role}`;
  document.getElementById("logout").hidden = false;
  try {
    const household = hash.match(/^#\/households\/(\d+)$/);
    if (household) return await householdPage(household[1]);
    if (me.role === "village_cadre" || me.role === "department_user") return await householdsPage();
    return await inboxPage();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
      show(h("h1", {}, "找不到"), h("p", {}, "没有这一户，或不在您的辖区。"), h("p", {}, h("a", { href: "#/" }, "返回")));
      return;
    }
    const retry = h("button", { type: "button", onclick: () => route() }, "重试");
    show(h("h1", {}, "出错了"), h("p", {}, errorText(error)), retry);
  }
}

async function logout() {
  try {
    await call("/auth/session", { method: "DELETE" });
  } catch {
    // the session may already have ended: the page forgets it either way
  }
  me = null;
  document.getElementById("who").textContent = "";
  document.getElementById("logout").hidden = true;
  if (location.hash === "#/login") loginPage();
  else location.hash = "#/login";
}

document.getElementById("logout").addEventListener("click", logout);
window.addEventListener("hashchange", route);
window.addEventListener("online", () => {
  if (!me) route();
});
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
route();
