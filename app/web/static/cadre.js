// The village cadre's pages (phone first): the village's households, a household's page, registering and
// editing a household, the quarterly report with the server's preview of its per-capita income, reporting a
// household in difficulty, and the drafts kept while offline. Every figure, level and rule comes from the
// API's answers; the page only offers input hints (the ID number's check digit as it is typed).
import {
  ACTION,
  api,
  ApiError,
  errorText,
  field,
  flash,
  h,
  home,
  LEVEL,
  nav,
  onLogout,
  optional,
  page,
  refusalText,
  say,
  session,
  show,
  showRefusal,
  STATUS,
  STEP,
  when,
  yuan,
} from "./core.js";
import {
  allDrafts,
  deleteDraft,
  draftsSection,
  getDraft,
  isNetworkError,
  newRef,
  saveDraft,
  sendDraft,
} from "./drafts.js";

const PAGE_SIZE = 50;
// timeline entries that are not the procedure's actions (those are named by core.js's ACTION)
const EVENT = {
  opened: "立案",
  signal: "新的风险信号",
  amended: "补充",
  escalated: "逾期上报",
};
const OUTCOME = {
  opened: "已立案，进入入户核实",
  attached: "已并入该户正在办理的案件",
  monitored: "该户已在监测中：已记入监测档案",
  recorded: "已记录",
  suppressed: "已记录（近期已有同类信号）",
};

/** core's show(), without the parts a page leaves out (null) and with lists flattened; nothing when the
 * cadre has meanwhile gone to another page (`here` is the hash the page was asked for). */
export function display(here, ...parts) {
  if (location.hash !== here) return;
  show(...parts.flat(2).filter((part) => part !== null && part !== undefined && part !== false && part !== ""));
}

const isCadre = () => session.me && session.me.role === "village_cadre";

// ---- small helpers ---------------------------------------------------------------------------------

export function select(name, values, { value = "", empty = null, required = false } = {}) {
  const options = [];
  if (empty !== null) options.push(h("option", { value: "" }, empty));
  for (const v of values) {
    const [code, label] = Array.isArray(v) ? v : [v, v];
    options.push(h("option", { value: code, selected: String(code) === String(value) }, label));
  }
  return h("select", { name, required }, options);
}

/** The values the forms offer, as the API accepts them; kept for offline use (no personal data). */
let choices = null;
let askingChoices = null;

/** The forms' choices, asked once at a time (pages opened while they are on the way wait for them). */
function formChoices() {
  if (choices) return Promise.resolve(choices);
  if (!askingChoices) askingChoices = askChoices().finally(() => (askingChoices = null));
  return askingChoices;
}

async function askChoices() {
  try {
    choices = await api("/households/choices");
    localStorage.setItem("shouwang-choices", JSON.stringify(choices));
  } catch (error) {
    const kept = localStorage.getItem("shouwang-choices");
    if (!kept || !isNetworkError(error)) throw error;
    choices = JSON.parse(kept);
  }
  return choices;
}

export function clearError(form) {
  for (const old of form.querySelectorAll(".field-error, .form-error")) old.remove();
  for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
}

function onlineNow() {
  return navigator.onLine;
}

// The last household pages read, in memory only: offline, the page still shows what was just read.
const seen = new Map();

// ---- the village's households ----------------------------------------------------------------------

const listState = { q: "", page: 1 };

// The next user of this tab sees nothing of this one's: no household read, no search, no choices.
onLogout(() => {
  seen.clear();
  listState.q = "";
  listState.page = 1;
  choices = null;
  localStorage.removeItem("shouwang-choices");
});

/** Run `work` with the form's submit button disabled, so a double tap sends once. */
export async function sending(form, work) {
  const button = form.querySelector("button[type=submit]");
  if (button && button.disabled) return;
  if (button) button.disabled = true;
  try {
    return await work();
  } finally {
    if (button && button.isConnected && !button.dataset.done) button.disabled = false;
  }
}

/** A page the cadre cannot open without a network: said plainly, with what works offline. */
function offlinePage(here, what) {
  display(here,
    h("h1", {}, "无网络连接"),
    h("p", {}, `${what}要连上网络才能查看（为保护个人信息，手机上不保存农户资料）。`),
    h("p", {}, "没有网络时仍可以：新增农户、查看和修改待发送的记录；连上网络后自动发送。"),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: "#/households/new" }, "新增农户"),
      h("a", { class: "button secondary", href: "#/drafts" }, "待发送"),
    ),
  );
}

async function householdsPage() {
  const here = location.hash;
  const cadre = isCadre();
  if (cadre) formChoices().catch(() => {}); // the forms' choices, ready for when the phone is offline
  const search = h("input", {
    id: "search",
    type: "search",
    name: "q",
    inputmode: "search",
    autocomplete: "off",
    maxlength: "32",
    value: listState.q,
    placeholder: cadre ? "户编号或户主姓名" : "户编号",
    "aria-describedby": "search-help",
  });
  const summary = h("p", { class: "muted", id: "households-summary", "aria-live": "polite" });
  const list = h("ul", { class: "list", id: "households" });
  const pager = h("nav", { class: "pager", "aria-label": "翻页" });
  const drafts = h("div", { id: "home-drafts" });

  const render = (data) => {
    const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
    summary.textContent = listState.q ? `找到 ${data.total} 户。` : `共 ${data.total} 户。`;
    list.replaceChildren(...data.items.map(householdItem));
    if (!data.items.length) list.append(h("li", { class: "muted" }, "没有符合的农户"));
    pager.replaceChildren();
    if (pages > 1) {
      const go = (p) => {
        listState.page = p;
        load();
      };
      pager.append(
        h("button", { type: "button", class: "secondary", disabled: listState.page <= 1, onclick: () => go(listState.page - 1) }, "上一页"),
        h("span", { class: "muted" }, `第 ${listState.page} / ${pages} 页`),
        h("button", { type: "button", class: "secondary", disabled: listState.page >= pages, onclick: () => go(listState.page + 1) }, "下一页"),
      );
    }
  };
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const q = listState.q ? `&q=${encodeURIComponent(listState.q)}` : "";
    try {
      const data = await api(`/households?page=${listState.page}&page_size=${PAGE_SIZE}${q}`);
      if (mine === asked) render(data);
    } catch (error) {
      if (mine !== asked) return;
      if (error instanceof ApiError && error.status === 422) {
        summary.textContent = "只能输入户编号或户主姓名的一部分（字母、数字、汉字）。";
        list.replaceChildren();
        pager.replaceChildren();
        return;
      }
      throw error;
    }
  };
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      listState.q = search.value.replace(/\s+/g, "");
      listState.page = 1;
      load().catch((error) => say(errorText(error)));
    }, 300);
  });
  const showDrafts = async () => {
    if (cadre) drafts.replaceChildren(draftsSection(await allDrafts()) || "");
  };
  window.addEventListener("drafts-changed", showDrafts);
  window.addEventListener("hashchange", () => window.removeEventListener("drafts-changed", showDrafts), { once: true });
  try {
    await load();
  } catch (error) {
    if (cadre && isNetworkError(error)) return offlinePage(here, "农户列表");
    throw error;
  }
  await showDrafts().catch(() => {});
  display(here,
    h("h1", {}, "农户"),
    cadre ? h("p", {}, h("a", { class: "button", href: "#/households/new" }, "新增农户")) : null,
    drafts,
    h("label", { for: "search" }, cadre ? "按户编号或户主姓名查找" : "按户编号查找"),
    h("p", { id: "search-help", class: "muted" }, cadre ? "输入户编号或户主姓名的一部分" : "输入户编号的一部分"),
    h("div", { class: "search" }, search),
    summary,
    list,
    pager,
  );
}

/** 尚无报告 (never reported) or 久未报告 (none in the policy's months), as the server says. */
function reportBadge(x) {
  if (!x.stale) return null;
  return x.last_report_end ? h("span", { class: "badge stale" }, "久未报告") : h("span", { class: "badge stale" }, "尚无报告");
}

function householdItem(x) {
  return h(
    "li",
    { class: "card" },
    h(
      "a",
      { href: `#/households/${x.id}` },
      h(
        "div",
        { class: "row" },
        h("span", { class: "grow" }, x.household_no, x.head_name ? h("span", { class: "head-name" }, ` ${x.head_name}`) : null),
        x.risk_level === "high" || x.risk_level === "medium" ? h("span", { class: `badge ${x.risk_level}` }, LEVEL[x.risk_level]) : null,
        reportBadge(x),
        x.open_case_step ? h("span", { class: "badge case" }, `案件：${STEP[x.open_case_step] || x.open_case_step}`) : null,
      ),
      h("div", { class: "muted" }, `${x.household_type} · ${STATUS[x.monitoring_status] || x.monitoring_status} · ${x.size} 人`),
    ),
  );
}

// ---- a household's page ----------------------------------------------------------------------------

// Sections other modules add to a household's page (field work: the helper, the visits), each
// `async (id, household) => nodes`, and editors of their kinds of drafts (`kind -> (draft) => page`).
const householdSections = [];
const draftEditors = {};

export function householdSection(draw) {
  householdSections.push(draw);
}

export function draftEditor(kind, edit) {
  draftEditors[kind] = edit;
}

async function readHousehold(id) {
  const household = await api(`/households/${id}`);
  const department = session.me.role === "department_user"; // a department reads the registry, not reports
  const [reports, risk, assistance, kase] = await Promise.all([
    department ? null : optional(`/households/${id}/reports?page_size=20`),
    household.risk_level ? optional(`/households/${id}/risk`) : null, // not scored yet: nothing to ask
    department ? null : optional(`/households/${id}/assistance`),
    household.open_case_id ? optional(`/cases/${household.open_case_id}`) : null,
  ]);
  return { household, reports, risk, assistance, kase };
}

async function householdPage(id) {
  const here = location.hash;
  if (isCadre()) formChoices().catch(() => {}); // the forms' choices, ready for when the phone is offline
  let data;
  let offline = false;
  try {
    data = await readHousehold(id);
    seen.set(id, data);
  } catch (error) {
    if (isNetworkError(error) && !seen.has(id) && isCadre()) return offlinePage(here, "这一户的信息");
    if (!isNetworkError(error) || !seen.has(id)) throw error;
    data = seen.get(id);
    offline = true;
  }
  const { household, reports, risk, assistance, kase } = data;
  const drafts = h("div", { id: "household-drafts" });
  const showDrafts = async () => {
    if (!isCadre()) return;
    const mine = (await allDrafts()).filter((d) => String(d.household_id) === String(id));
    drafts.replaceChildren(draftsSection(mine) || "");
  };
  window.addEventListener("drafts-changed", showDrafts);
  window.addEventListener("hashchange", () => window.removeEventListener("drafts-changed", showDrafts), { once: true });
  await showDrafts().catch(() => {});
  const sections = offline ? [] : await Promise.all(householdSections.map((draw) => draw(id, household).catch(() => null)));
  const back = session.me.role === "village_cadre" || session.me.role === "department_user" ? "← 农户列表" : "← 待办案件";
  // masked by default; the full values only on request (the server audits it), on screen only
  const members = h("div", { id: "members-block" }, membersTable(household.members));
  const phone = h("span", { id: "phone" }, household.phone || "未填");
  const revealResult = h("p", { id: "reveal-result", role: "status" });
  const revealButton = h("button", { type: "button", class: "secondary", id: "reveal" }, "显示完整证件号和电话（将留痕）");
  revealButton.addEventListener("click", async () => {
    revealButton.disabled = true;
    try {
      const full = await api(`/households/${id}?reveal=true`);
      members.replaceChildren(membersTable(full.members));
      phone.textContent = full.phone || "未填";
      revealResult.textContent = "已显示完整证件号和电话（本次查看已记录）。离开本页后重新隐藏。";
      revealButton.remove();
    } catch (error) {
      revealButton.disabled = false;
      revealResult.textContent = refusalText(error);
    }
  });
  const personal = h(
    "div",
    { class: "personal" },
    h("p", {}, "联系电话：", phone),
    household.can_reveal && !offline ? [revealButton, revealResult] : null,
  );
  display(here,
    h("p", {}, h("a", { href: "#/" }, back)),
    h("h1", {}, `农户 ${household.household_no}`),
    offline ? h("p", { class: "notice" }, "无网络连接：显示的是刚才读取的内容。") : null,
    h(
      "p",
      { class: "muted" },
      `${household.household_type} · ${STATUS[household.monitoring_status] || household.monitoring_status}`,
      household.address ? ` · 地址 ${household.address}` : "",
    ),
    household.stale && !household.last_report_end
      ? h("p", {}, h("span", { class: "badge stale" }, "尚无报告"), " 该户还没有任何报告，需入户走访并提交报告。")
      : household.stale
        ? h("p", {}, h("span", { class: "badge stale" }, "久未报告"), " 超过政策规定的月数既没有报告也没有走访，需入户走访。")
        : null,
    personal,
    isCadre()
      ? h(
          "div",
          { class: "actions" },
          h("a", { class: "button", href: `#/households/${id}/report` }, "提交季度报告"),
          h("a", { class: "button secondary", href: `#/households/${id}/edit` }, "修改农户信息"),
          h("a", { class: "button secondary", href: `#/households/${id}/signal` }, "报告困难户"),
        )
      : null,
    drafts,
    h("h2", {}, "风险"),
    riskBlock(risk),
    h("h2", {}, "案件"),
    caseBlock(household, kase),
    h("h2", {}, "家庭成员"),
    members,
    h("h2", {}, "报告（人均纯收入与当年监测线）"),
    reportsTable(reports, isCadre() && !offline ? id : null),
    h("h2", {}, "帮扶措施"),
    assistanceBlock(assistance),
    ...sections,
  );
}

function riskBlock(risk) {
  if (!risk) return h("p", { class: "muted" }, "尚无评分结果。");
  return h(
    "div",
    { class: "card", id: "risk" },
    h(
      "div",
      { class: "row" },
      h("span", { class: "grow" }, "风险等级"),
      h("span", { class: `badge ${risk.level}` }, LEVEL[risk.level] || risk.level),
    ),
    h("p", { class: "muted" }, `${risk.as_of} 的评分`),
    risk.reasons.length ? h("ul", {}, risk.reasons.map((r) => h("li", {}, r.risk_type && r.risk_type !== "其他" ? `${r.text}（${r.risk_type}）` : r.text))) : h("p", {}, "没有触发预警规则。"),
    risk.factors && risk.factors.length
      ? [h("p", { class: "muted" }, "预警模型的主要因素："), h("ul", {}, risk.factors.map((f) => h("li", {}, f.text)))]
      : null,
  );
}

function caseBlock(household, kase) {
  if (!household.open_case_id) return h("p", { class: "muted" }, "没有正在办理的案件。");
  const link = h("a", { href: `#/cases/${household.open_case_id}` }, `查看案件 ${household.open_case_id}`);
  if (!kase) return h("p", {}, `正在办理：${STEP[household.open_case_step] || ""} `, link);
  return h(
    "div",
    { class: "card", id: "case" },
    h(
      "div",
      { class: "row" },
      h("span", { class: "grow" }, `案件 ${kase.id} · ${STEP[kase.step] || kase.step}`),
      kase.level ? h("span", { class: `badge ${kase.level}` }, LEVEL[kase.level]) : null,
      kase.overdue ? h("span", { class: "badge high" }, "已逾期") : null,
    ),
    h("p", { class: "muted" }, `本环节到期 ${when(kase.due_at)}`),
    h(
      "ol",
      { class: "timeline" },
      kase.timeline.map((e) => h("li", {}, h("span", { class: "figure" }, when(e.at)), ` ${EVENT[e.action] || ACTION[e.action] || e.action}（${STEP[e.step] || e.step}）· ${e.actor}`)),
    ),
    h("p", {}, link),
  );
}

function membersTable(members) {
  const active = members.filter((m) => m.active);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { id: "members", class: "cards-on-phone" },
      h("thead", {}, h("tr", {}, h("th", {}, "姓名"), h("th", {}, "关系"), h("th", {}, "出生年"), h("th", {}, "证件号"), h("th", {}, "健康"), h("th", {}, "劳动能力"))),
      h(
        "tbody",
        {},
        active.map((m) =>
          h(
            "tr",
            {},
            h("td", {}, m.name),
            h("td", {}, m.relation),
            h("td", { "data-label": "出生年" }, m.birth_year),
            h("td", { class: "figure id-number", "data-label": "证件号" }, m.id_number),
            h("td", { "data-label": "健康" }, m.health === "残疾" && m.disability_grade ? `残疾（${m.disability_grade} 级）` : m.health || "—"),
            h("td", { "data-label": "劳动能力" }, m.labour_capacity || "—"),
          ),
        ),
      ),
    ),
  );
}

function reportsTable(reports, correctable = null) {
  if (reports === null) return h("p", { class: "muted" }, "无权查看该户的报告。");
  const rows = reports.items
    .filter((r) => !r.superseded_by)
    .map((r) =>
      h(
        "tr",
        {},
        h("td", { "data-label": "截至" }, h("span", { class: "figure" }, r.period_end)),
        h("td", { "data-label": "近 12 个月人均纯收入" }, yuan(r.per_capita_net_income), r.income_basis.estimated ? h("span", { class: "figure" }, "（估算）") : ""),
        h("td", { "data-label": "当年监测线" }, yuan(r.monitoring_line)),
        h(
          "td",
          { class: r.below_line ? "below verdict" : "verdict" },
          r.below_line === null ? "—" : h("span", { class: r.below_line ? "badge below-line" : "badge above" }, r.below_line ? "低于监测线" : "高于监测线"),
        ),
        correctable
          ? h("td", { class: "correct" }, h("a", { href: `#/households/${correctable}/report?correct=${r.id}` }, "更正"))
          : null,
      ),
    );
  if (!rows.length) return h("p", { class: "muted" }, "尚无报告。");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { id: "reports", class: "cards-on-phone" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "截至"), h("th", {}, "近 12 个月人均纯收入"), h("th", {}, "当年监测线"), h("th", {}, "结论"), correctable ? h("th", {}, "操作") : null),
      ),
      h("tbody", {}, rows),
    ),
  );
}

const MEASURE_STATUS = { planned: "计划中", in_progress: "实施中", done: "已完成", stopped: "已停止" };

function assistanceBlock(assistance) {
  if (assistance === null) return h("p", { class: "muted" }, "无权查看帮扶措施。");
  const gaps = assistance.gaps.length
    ? h("p", { class: "below" }, "尚无对应措施的风险类型：", assistance.gaps.map((g) => `${g.risk_type}（${g.days_without_measure} 天）`).join("、"))
    : null;
  if (!assistance.measures.length) return [h("p", { class: "muted" }, "尚无帮扶措施。"), gaps];
  return [
    h(
      "ul",
      { class: "list", id: "assistance" },
      assistance.measures.map((m) =>
        h(
          "li",
          { class: "card" },
          h("div", { class: "row" }, h("span", { class: "grow" }, `${m.category} · ${m.item}`), h("span", { class: "badge" }, MEASURE_STATUS[m.status] || m.status)),
          h("div", { class: "muted" }, `${m.department} · ${m.started_on} 起`, m.amount !== null ? [" · ", yuan(m.amount)] : ""),
        ),
      ),
    ),
    gaps,
  ];
}

// ---- the ID number's check digit (GB 11643), as typed: a hint, the server judges -------------------

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

export function idNumberHint(value) {
  const v = value.trim().toUpperCase();
  if (!v) return "";
  if (!/^\d{0,17}[\dX]?$/.test(v)) return "身份证号只能是数字，最后一位可以是 X";
  if (v.length < 18) return `还差 ${18 - v.length} 位`;
  const sum = WEIGHTS.reduce((s, w, i) => s + w * Number(v[i]), 0);
  const expected = CHECK[sum % 11];
  return v[17] === expected ? "校验位正确" : `校验位不对（按前 17 位应为 ${expected}），请核对`;
}

// ---- registering a household -------------------------------------------------------------------------

function memberFieldset(index, c, values = {}) {
  const prefix = `members[${index}].`;
  const idHint = h("p", { class: "hint muted id-hint", "aria-live": "polite" });
  const idInput = h("input", {
    name: "id_number",
    "data-field": `${prefix}id_number`,
    required: true,
    maxlength: "18",
    autocomplete: "off",
    inputmode: "text",
    value: values.id_number || "",
  });
  idInput.addEventListener("input", () => {
    const hint = idNumberHint(idInput.value);
    idHint.textContent = hint;
    idHint.classList.toggle("warn", hint !== "" && hint !== "校验位正确" && !hint.startsWith("还差"));
  });
  const idField = field("身份证号", idInput);
  idField.append(idHint);
  const part = (label, input) => {
    input.setAttribute("data-field", `${prefix}${input.name}`);
    return field(label, input);
  };
  const fieldset = h(
    "fieldset",
    { class: "member card" },
    h("legend", {}, index === 0 ? "成员 1（户主）" : `成员 ${index + 1}`),
    part("姓名", h("input", { name: "name", required: true, maxlength: "50", autocomplete: "off", value: values.name || "" })),
    idField,
    part("与户主关系", select("relation", c.relations, { value: values.relation || (index === 0 ? "户主" : ""), empty: "请选择", required: true })),
    part("性别", select("sex", c.sexes, { value: values.sex || "", empty: "请选择", required: true })),
    part("劳动能力", select("labour_capacity", c.labour_capacities, { value: values.labour_capacity || "", empty: "未填" })),
    part("健康状况", select("health", c.healths, { value: values.health || "", empty: "未填" })),
    part("残疾等级", select("disability_grade", gradeChoices(c), { value: values.disability_grade || "", empty: "请选择" })),
  );
  linkDisability(fieldset);
  return fieldset;
}

const DISABLED = "残疾";

function gradeChoices(c) {
  return (c.disability_grades || [1, 2, 3, 4]).map((g) => [String(g), `${g} 级`]);
}

/** 残疾等级 shown (and required) only when 健康状况 is 残疾, as the server requires. */
function linkDisability(container) {
  const health = container.querySelector('[name="health"]');
  const grade = container.querySelector('[name="disability_grade"]');
  const sync = () => {
    const disabled = health.value === DISABLED;
    grade.closest(".field").hidden = !disabled;
    grade.required = disabled;
  };
  health.addEventListener("change", sync);
  sync();
}

/** The grade to send: a number when 残疾, otherwise none (null clears a grade kept from before). */
function gradeValue(container) {
  const health = container.querySelector('[name="health"]').value;
  const grade = container.querySelector('[name="disability_grade"]').value;
  return health === DISABLED && grade ? Number(grade) : null;
}

function renumber(container) {
  [...container.querySelectorAll("fieldset.member")].forEach((fs, i) => {
    fs.querySelector("legend").textContent = i === 0 ? "成员 1（户主）" : `成员 ${i + 1}`;
    for (const input of fs.querySelectorAll("[data-field]")) {
      input.setAttribute("data-field", `members[${i}].${input.name}`);
    }
  });
}

function memberValues(fs) {
  const value = (name) => fs.querySelector(`[name="${name}"]`).value.trim();
  const member = { name: value("name"), id_number: value("id_number").toUpperCase(), relation: value("relation"), sex: value("sex") };
  for (const name of ["labour_capacity", "health"]) if (value(name)) member[name] = value(name);
  if (gradeValue(fs) !== null) member.disability_grade = gradeValue(fs);
  return member;
}

async function registerPage(draft = null) {
  const here = location.hash;
  const c = await formChoices();
  const body = draft ? draft.body : null;
  const clientRef = draft ? draft.client_ref : newRef();
  const members = h("div", { id: "members-form" });
  const form = h(
    "form",
    { class: "card form", id: "register", novalidate: true },
    field("户编号", h("input", { name: "household_no", required: true, maxlength: "32", autocomplete: "off", value: body ? body.household_no : "" }), "字母、数字和“-”"),
    field("户类型", select("household_type", c.household_types, { value: body ? body.household_type : "", empty: "请选择", required: true })),
    field("地址", h("input", { name: "address", maxlength: "200", value: body ? body.address : "" })),
    field("联系电话", h("input", { name: "phone", type: "tel", inputmode: "tel", maxlength: "20", value: body && body.phone ? body.phone : "" })),
    h("h2", {}, "家庭成员"),
    members,
  );
  const addMember = (values) => {
    const index = members.querySelectorAll("fieldset.member").length;
    const fs = memberFieldset(index, c, values);
    if (index > 0) {
      fs.append(
        h("button", { type: "button", class: "secondary", onclick: () => { fs.remove(); renumber(members); } }, "删除此成员"),
      );
    }
    members.append(fs);
    return fs;
  };
  for (const m of body ? body.members : [{}]) addMember(m);
  const result = h("div", { id: "register-result", role: "status" });
  form.append(
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => addMember({}).querySelector("input").focus() }, "添加成员")),
    h("div", { class: "actions" }, h("button", { type: "submit" }, draft ? "保存并发送" : "登记")),
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(form, () => register());
  });
  const register = async () => {
    clearError(form);
    const value = (name) => form.elements[name].value.trim();
    const out = {
      household_no: value("household_no"),
      village_code: session.me.region_code,
      address: value("address"),
      household_type: value("household_type"),
      members: [...members.querySelectorAll("fieldset.member")].map(memberValues),
      client_ref: clientRef,
    };
    if (value("phone")) out.phone = value("phone");
    const keep = () =>
      saveDraft({ client_ref: clientRef, kind: "household", path: "/households", household_id: null, title: `户 ${out.household_no}`, body: out });
    if (!onlineNow()) {
      await keep();
      result.replaceChildren(h("p", { class: "notice" }, "无网络连接：已保存为待发送，连上网络后自动发送。"));
      return;
    }
    try {
      const created = await api("/households", { method: "POST", json: out });
      if (draft) await deleteDraft(clientRef);
      flash(`已登记农户 ${created.household_no}`);
      location.hash = `#/households/${created.id}`;
    } catch (error) {
      if (isNetworkError(error)) {
        await keep();
        result.replaceChildren(h("p", { class: "notice" }, "发送失败（网络）：已保存为待发送，连上网络后自动发送。"));
        return;
      }
      showRefusal(form, error);
    }
  };
  display(here,
    h("p", {}, h("a", { href: draft ? "#/drafts" : "#/" }, draft ? "← 待发送" : "← 农户列表")),
    h("h1", {}, draft ? "修改待发送的农户登记" : "新增农户"),
    draft && draft.refusal ? h("p", { class: "refused", role: "alert" }, `被退回：${draft.refusal.text}`) : null,
    h("p", { class: "muted" }, "身份证号在输入时检查校验位，仅作提示；以系统审核为准。"),
    form,
  );
  if (draft && draft.refusal) showRefusal(form, new ApiError(draft.refusal.status, draft.refusal.body));
}

// ---- editing a household (with the version read) ---------------------------------------------------

const FIELD_LABEL = { address: "地址", phone: "联系电话", name: "姓名", labour_capacity: "劳动能力", health: "健康状况", disability_grade: "残疾等级" };

async function editPage(id) {
  const here = location.hash;
  const [household, c] = await Promise.all([api(`/households/${id}`), formChoices()]);
  let base = household; // the version the cadre edits against
  const form = h("form", { class: "card form", id: "edit", novalidate: true });
  const conflict = h("div", { id: "conflict" });
  const draw = () => {
    form.replaceChildren(
      field("地址", h("input", { name: "address", maxlength: "200", value: base.address })),
      field("联系电话", h("input", { name: "phone", type: "tel", inputmode: "tel", maxlength: "20", value: "" }), `现为 ${base.phone || "未填"}；不改请留空`),
      h("h2", {}, "家庭成员"),
      ...base.members
        .filter((m) => m.active)
        .map((m) =>
          h(
            "fieldset",
            { class: "member card", "data-member": m.id },
            h("legend", {}, `${m.relation} · ${m.birth_year} 年生`),
            field("姓名", h("input", { name: "name", "data-field": `m${m.id}.name`, maxlength: "50", value: m.name })),
            field("劳动能力", select("labour_capacity", c.labour_capacities, { value: m.labour_capacity || "", empty: "未填" })),
            field("健康状况", select("health", c.healths, { value: m.health || "", empty: "未填" })),
            field("残疾等级", select("disability_grade", gradeChoices(c), { value: m.disability_grade || "", empty: "请选择" })),
          ),
        ),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "保存")),
    );
    for (const fs of form.querySelectorAll("fieldset[data-member]")) linkDisability(fs);
  };
  draw();
  const memberName = (memberId) => {
    const m = base.members.find((x) => x.id === memberId) || {};
    return m.name || m.relation || "成员";
  };
  const wanted = () => {
    const changes = { household: {}, members: new Map() };
    const address = form.elements.address.value.trim();
    if (address !== base.address) changes.household.address = address;
    const phone = form.elements.phone.value.trim();
    if (phone) changes.household.phone = phone;
    for (const fs of form.querySelectorAll("fieldset[data-member]")) {
      const member = base.members.find((m) => String(m.id) === fs.dataset.member);
      const diff = {};
      for (const name of ["name", "labour_capacity", "health"]) {
        const value = fs.querySelector(`[name="${name}"]`).value.trim();
        if (value !== (member[name] || "")) diff[name] = value || null;
      }
      const grade = gradeValue(fs);
      if (grade !== (member.disability_grade ?? null)) diff.disability_grade = grade;
      if (Object.keys(diff).length) changes.members.set(member.id, diff);
    }
    return changes;
  };
  // What was saved so far, to say it plainly when a later part is refused.
  let saved = [];
  const save = async (changes) => {
    saved = [];
    if (Object.keys(changes.household).length) {
      await api(`/households/${id}`, { method: "PATCH", json: { ...changes.household, version: base.version } });
      saved.push(Object.keys(changes.household).map((name) => FIELD_LABEL[name]).join("、"));
      changes.household = {};
    }
    for (const [memberId, diff] of [...changes.members]) {
      const member = base.members.find((m) => m.id === memberId);
      try {
        await api(`/households/${id}/members/${memberId}`, { method: "PATCH", json: { ...diff, version: member.version } });
      } catch (error) {
        error.memberId = memberId;
        throw error;
      }
      saved.push(`${memberName(memberId)}的${Object.keys(diff).map((name) => FIELD_LABEL[name]).join("、")}`);
      changes.members.delete(memberId);
    }
  };
  // a part was saved, a later one refused: say which is which; the form keeps what is still to save
  const partlySaved = async (error) => {
    const notSaved = error.memberId ? memberName(error.memberId) : "其余";
    base = await api(`/households/${id}`); // the saved parts' new versions: a retry sends only the rest
    conflict.replaceChildren(
      h(
        "div",
        { class: "card notice", role: "alert", id: "partly-saved" },
        h("p", {}, saved.length ? `已保存：${saved.join("；")}。` : "没有保存任何修改。"),
        h("p", { class: "refused" }, `未保存：${notSaved}的修改——${refusalText(error)}`),
        h("p", {}, "请改正后再点“保存”（只会发送未保存的部分）。"),
      ),
    );
    const fs = error.memberId ? form.querySelector(`fieldset[data-member="${error.memberId}"]`) : null;
    const fieldName = error.body && error.body.field ? String(error.body.field).split(".").pop() : null;
    const input = fs && fieldName ? fs.querySelector(`[name="${CSS.escape(fieldName)}"]`) : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.insertAdjacentElement("afterend", h("p", { class: "field-error" }, error.body.message));
    }
  };
  const showConflict = async (changes) => {
    const current = await api(`/households/${id}`);
    const rows = [];
    const row = (what, mine, theirs) => rows.push(h("tr", {}, h("th", { scope: "row" }, what), h("td", {}, mine || "（空）"), h("td", {}, theirs || "（空）")));
    for (const [name, value] of Object.entries(changes.household)) row(FIELD_LABEL[name], value, current[name]);
    for (const [memberId, diff] of changes.members) {
      const now = current.members.find((m) => m.id === memberId) || {};
      for (const [name, value] of Object.entries(diff)) row(`${now.relation || "成员"}的${FIELD_LABEL[name]}`, value, now[name]);
    }
    conflict.replaceChildren(
      h(
        "div",
        { class: "card conflict", role: "alert" },
        h("h2", { tabindex: "-1" }, "保存冲突：别人刚修改了这一户"),
        h("p", {}, "您读取之后，这一户已被修改。请对照下面的值："),
        h(
          "div",
          { class: "table-wrap" },
          h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "项目"), h("th", {}, "您填的"), h("th", {}, "现在的"))), h("tbody", {}, rows)),
        ),
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                base = current;
                try {
                  await save(changes);
                  flash("已按您填的值保存");
                  location.hash = `#/households/${id}`;
                } catch (error) {
                  conflict.replaceChildren();
                  if (error instanceof ApiError && error.status === 409 && error.body && error.body.field === "version") return showConflict(changes);
                  if (saved.length || error.memberId) return partlySaved(error);
                  showRefusal(form, error);
                }
              },
            },
            "用我填的值再次保存",
          ),
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: () => {
                base = current;
                conflict.replaceChildren();
                draw();
              },
            },
            "放弃我的修改，重新读取",
          ),
        ),
      ),
    );
    conflict.querySelector("h2").focus();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(form, () => submitEdit());
  });
  const submitEdit = async () => {
    clearError(form);
    conflict.replaceChildren(); // no panel from an earlier attempt stays on screen
    const changes = wanted();
    if (!Object.keys(changes.household).length && !changes.members.size) {
      say("没有修改");
      return;
    }
    try {
      await save(changes);
      flash("已保存");
      location.hash = `#/households/${id}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.body && error.body.field === "version") {
        await showConflict(changes);
        return;
      }
      if (saved.length || error.memberId) return partlySaved(error);
      showRefusal(form, error);
    }
  };
  display(here,
    h("p", {}, h("a", { href: `#/households/${id}` }, "← 返回农户")),
    h("h1", {}, `修改农户 ${household.household_no}`),
    conflict,
    form,
  );
}

// ---- the quarterly report ---------------------------------------------------------------------------

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

/** Today in the district (Asia/Shanghai), whatever the phone's own zone: YYYY-MM-DD. */
function localToday(today = new Date()) {
  return today.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
}

function lastQuarter(today = new Date()) {
  const [year, month] = localToday(today).split("-").map(Number);
  const q = Math.floor((month - 1) / 3); // this quarter (0–3); the report is for the one before
  const start = new Date(Date.UTC(year, (q - 1) * 3, 1));
  const end = new Date(Date.UTC(year, q * 3, 0));
  return [isoDay(start), isoDay(end)];
}

/** The reports that count (not corrected by a later one), as the API lists them. */
function effectiveReports(reports) {
  return reports ? reports.items.filter((r) => !r.superseded_by) : [];
}

/** The first period the household has not reported: the quarter after its last report (up to today if
 * that quarter is not over yet), or last quarter when it has none. A hint; the server judges. */
function nextPeriod(reports, today = new Date()) {
  const done = effectiveReports(reports).map((r) => r.period_end).sort();
  if (!done.length) return { period: lastQuarter(today), unfinished: false };
  const start = new Date(`${done[done.length - 1]}T00:00:00Z`);
  start.setUTCDate(start.getUTCDate() + 1);
  const end = isoDay(new Date(Date.UTC(start.getUTCFullYear(), Math.floor(start.getUTCMonth() / 3) * 3 + 3, 0)));
  const now = localToday(today);
  if (isoDay(start) > now) {
    // reported up to today: nothing new to report; the latest report may be corrected
    const latest = effectiveReports(reports).sort((x, y) => x.period_end.localeCompare(y.period_end)).pop();
    return { period: [latest.period_start, latest.period_end], unfinished: false, upToDate: latest };
  }
  return { period: [isoDay(start), end < now ? end : now], unfinished: end >= now, quarterEnd: end };
}

function overlapping(reports, start, end) {
  return effectiveReports(reports).filter((r) => r.period_start <= end && start <= r.period_end);
}

const MONEY = [
  ["wages", "工资性收入"],
  ["business", "生产经营性收入"],
  ["property", "财产性收入"],
  ["transfer", "转移性收入"],
  ["production_cost", "生产经营性支出"],
];
const YES_NO = [["true", "是"], ["false", "否"]];

function money(name, label, value) {
  return field(
    `${label}（元）`,
    h("input", { name, "data-field": name, type: "text", inputmode: "decimal", required: true, autocomplete: "off", value: value ?? "0" }),
  );
}

function reportBody(form, clientRef, supersedes = null) {
  const v = (name) => form.elements[name].value.trim();
  const body = {
    client_ref: clientRef,
    ...(supersedes ? { supersedes } : {}),
    period_start: v("period_start"),
    period_end: v("period_end"),
    income: Object.fromEntries(MONEY.map(([name]) => [name, v(name) || "0"])),
    insurance_payout: v("insurance_payout") || "0",
    spending: { medical: v("medical") || "0", education: v("education") || "0" },
  };
  if (v("housing_grade")) body.housing_grade = v("housing_grade");
  for (const name of ["drinking_water_safe", "food_secure", "clothing_secure"]) if (v(name)) body[name] = v(name) === "true";
  return body;
}

async function reportPage(id, draft = null) {
  const here = location.hash;
  const c = await formChoices();
  const known = seen.get(id);
  let number = known ? known.household.household_no : draft ? draft.title.split(" ")[0] : null;
  if (!number && onlineNow()) {
    try {
      number = (await api(`/households/${id}`)).household_no;
    } catch (error) {
      if (!isNetworkError(error)) throw error;
    }
  }
  let reports = known ? known.reports : null;
  if (onlineNow()) {
    try {
      reports = await optional(`/households/${id}/reports?page_size=20`);
    } catch (error) {
      if (!isNetworkError(error)) throw error;
    }
  }
  let clientRef = draft ? draft.client_ref : newRef();
  const correctParam = new URLSearchParams(location.hash.split("?")[1] || "").get("correct");
  const wantedId = draft ? draft.body.supersedes : correctParam ? Number(correctParam) : null;
  // the report this one corrects (ReportCreate's supersedes): chosen by the cadre, never guessed
  let correcting = wantedId ? effectiveReports(reports).find((r) => r.id === wantedId) || { id: wantedId } : null;
  const b = draft ? draft.body : correcting && correcting.income ? correcting : null;
  const next = nextPeriod(reports);
  const [start, end] = b ? [b.period_start, b.period_end] : next.period;
  const correction = h("div", { id: "correction", "aria-live": "polite" });
  const heading = h("h1", {});
  const preview = h("div", { id: "preview", class: "card preview", "aria-live": "polite" });
  const result = h("div", { id: "report-result", role: "status" });
  const form = h(
    "form",
    { class: "card form", id: "report", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, "报告期"),
      field("开始日期", h("input", { name: "period_start", "data-field": "period_start", type: "date", required: true, value: start })),
      field("结束日期", h("input", { name: "period_end", "data-field": "period_end", type: "date", required: true, value: end })),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "本期收入与支出"),
      MONEY.map(([name, label]) => money(name, label, b ? b.income[name] : "0")),
      money("insurance_payout", "理赔收入", b ? b.insurance_payout : "0"),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "合规自付支出"),
      money("medical", "医疗", b ? b.spending.medical : "0"),
      money("education", "教育", b ? b.spending.education : "0"),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "两不愁三保障与饮水"),
      field("房屋安全等级", select("housing_grade", c.housing_grades, { value: b ? b.housing_grade || "" : "", empty: "未填" }), "C、D 级为危房"),
      field("饮水安全", select("drinking_water_safe", YES_NO, { value: b && b.drinking_water_safe !== undefined ? String(b.drinking_water_safe) : "", empty: "未填" })),
      field("不愁吃", select("food_secure", YES_NO, { value: b && b.food_secure !== undefined ? String(b.food_secure) : "", empty: "未填" })),
      field("不愁穿", select("clothing_secure", YES_NO, { value: b && b.clothing_secure !== undefined ? String(b.clothing_secure) : "", empty: "未填" })),
    ),
    h("h2", {}, "发送前预览"),
    preview,
    h("div", { class: "actions" }, h("button", { type: "submit" }, draft ? "保存并发送" : "发送报告")),
    result,
  );
  for (const name of ["housing_grade", "drinking_water_safe", "food_secure", "clothing_secure"]) form.elements[name].setAttribute("data-field", name);
  const submit = form.querySelector("button[type=submit]");
  const span = (r) => `${r.period_start} 至 ${r.period_end}`;

  // the form with a stored report's values, to correct it
  const fill = (r) => {
    const set = (name, value) => (form.elements[name].value = value === null || value === undefined ? "" : String(value));
    set("period_start", r.period_start);
    set("period_end", r.period_end);
    for (const [name] of MONEY) set(name, r.income[name]);
    set("insurance_payout", r.insurance_payout);
    set("medical", r.spending.medical);
    set("education", r.spending.education);
    for (const name of ["housing_grade", "drinking_water_safe", "food_secure", "clothing_secure"]) set(name, r[name]);
  };
  const describe = (clashes = []) => {
    heading.textContent = correcting && correcting.period_start ? `更正 ${span(correcting)} 的报告` : draft ? "修改待发送的季度报告" : "提交季度报告";
    if (!draft) submit.textContent = correcting ? "发送更正" : "发送报告";
    if (correcting) {
      correction.replaceChildren(
        h(
          "div",
          { class: "notice" },
          h("p", {}, correcting.period_start ? `正在更正 ${span(correcting)} 的报告：发送后以本次填写的内容代替原报告（原报告留在记录中）。` : "正在更正一份已提交的报告。"),
          h("button", { type: "button", class: "secondary", onclick: () => { correcting = null; describe(); refresh().catch(() => {}); } }, "取消更正"),
        ),
      );
      return;
    }
    const offers = clashes.map((r) =>
      h("button", { type: "button", class: "secondary", onclick: () => { correcting = r; fill(r); describe(); refresh().catch(() => {}); } }, `更正 ${span(r)} 的报告`),
    );
    if (next.upToDate && !draft) {
      const latest = next.upToDate;
      correction.replaceChildren(
        h(
          "div",
          { class: "notice", role: "status" },
          h("p", {}, `该户已报告到 ${latest.period_end}（今天），没有新的报告期。要修改已提交的报告，请选择更正：`),
          h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => { correcting = latest; fill(latest); describe(); refresh().catch(() => {}); } }, `更正 ${span(latest)} 的报告`)),
        ),
      );
    } else if (clashes.length) {
      correction.replaceChildren(
        h(
          "div",
          { class: "notice", role: "alert" },
          h("p", {}, `这一期与已提交的报告（${clashes.map(span).join("、")}）重叠，不能再报一次。要修改已提交的报告，请选择更正：`),
          h("div", { class: "actions" }, offers),
        ),
      );
    } else if (next.unfinished && !draft) {
      const latest = effectiveReports(reports).sort((x, y) => x.period_end.localeCompare(y.period_end)).pop();
      correction.replaceChildren(
        h(
          "div",
          { class: "notice" },
          h("p", {}, `该户已报告到 ${latest.period_end}。本季度到 ${next.quarterEnd} 才结束，结束日期暂填今天。`),
          h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => { correcting = latest; fill(latest); describe(); refresh().catch(() => {}); } }, `更正 ${span(latest)} 的报告`)),
        ),
      );
    } else correction.replaceChildren();
  };
  // the server refused the period as overlapping a stored report: offer to correct that report
  const overlapRefused = (error) =>
    error instanceof ApiError && error.status === 409 && error.body && error.body.field === "period_start"
      ? overlapping(reports, form.elements.period_start.value, form.elements.period_end.value)
      : [];
  describe();

  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    if (!onlineNow()) {
      preview.replaceChildren(h("p", {}, "无网络连接：人均纯收入将在发送后由系统计算。"));
      return;
    }
    try {
      const p = await api(`/households/${id}/reports/preview`, { method: "POST", json: reportBody(form, clientRef, correcting && correcting.id) });
      if (mine !== asked) return;
      clearError(form);
      if (!correcting && correction.querySelector("[role=alert]")) describe();
      preview.replaceChildren(
        h("p", {}, "发送后，近 12 个月人均纯收入：", yuan(p.per_capita_net_income), p.income_basis.estimated ? "（报告不满 12 个月，为估算）" : ""),
        h("p", {}, "当年监测线：", yuan(p.monitoring_line)),
        h(
          "p",
          { class: p.below_line ? "below" : null, id: "preview-verdict" },
          p.below_line === null ? "该户没有在册成员，无法计算。" : p.below_line ? "低于监测线" : "高于监测线",
        ),
      );
    } catch (error) {
      if (mine !== asked) return;
      if (isNetworkError(error)) {
        preview.replaceChildren(h("p", {}, "无网络连接：人均纯收入将在发送后由系统计算。"));
        return;
      }
      const clashes = overlapRefused(error);
      if (clashes.length) {
        preview.replaceChildren(h("p", { class: "muted" }, "这一期已报告过：改报告期，或选择更正已提交的报告。"));
        describe(clashes);
        return;
      }
      preview.replaceChildren(h("p", { class: "muted" }, "填写有误，暂不能计算（见下方提示）。"));
      showRefusal(form, error);
    }
  };
  let timer = null;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch(() => {}), 400);
  };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  const title = () => `${number || `#${id}`} 截至 ${form.elements.period_end.value}`;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(form, () => send());
  });
  const send = async () => {
    clearTimeout(timer);
    clearError(form);
    const body = reportBody(form, clientRef, correcting && correcting.id);
    const path = `/households/${id}/reports`;
    const kept = async (why) => {
      await saveDraft({ client_ref: clientRef, kind: "report", path, household_id: Number(id), title: title(), body });
      result.replaceChildren(
        h("p", { class: "notice" }, `${why}已保存为待发送（${title()}），连上网络后自动发送。`),
        h("p", {}, "可以接着填下一份报告，或 ", h("a", { href: `#/households/${id}` }, "返回农户"), "。"),
      );
      clientRef = newRef(); // the next report on this form is another draft
      if (draft) location.hash = `#/households/${id}`;
    };
    if (!onlineNow()) return kept("无网络连接：");
    try {
      await api(path, { method: "POST", json: body });
      if (draft) await deleteDraft(clientRef);
      flash(body.supersedes ? "更正已发送" : "报告已发送");
      location.hash = `#/households/${id}`;
    } catch (error) {
      if (isNetworkError(error)) return kept("发送失败（网络）：");
      const clashes = overlapRefused(error);
      if (clashes.length && !correcting) return describe(clashes);
      showRefusal(form, error);
    }
  };
  display(here,
    h("p", {}, h("a", { href: `#/households/${id}` }, "← 返回农户")),
    heading,
    h("p", { class: "muted" }, number ? `农户 ${number}` : `农户 #${id}`),
    correction,
    draft && draft.refusal ? h("p", { class: "refused", role: "alert" }, `被退回：${draft.refusal.text}`) : null,
    form,
  );
  if (draft && draft.refusal) {
    // the server's refusal is known: shown on its field; the preview follows the cadre's correction
    showRefusal(form, new ApiError(draft.refusal.status, draft.refusal.body));
    preview.replaceChildren(h("p", { class: "muted" }, "改正后将重新计算。"));
  } else refresh().catch(() => {});
}

// ---- reporting a household in difficulty (a cadre's signal) -----------------------------------------

async function signalPage(id) {
  const here = location.hash;
  const [household, c] = await Promise.all([api(`/households/${id}`), formChoices()]);
  const result = h("div", { id: "signal-result", role: "status" });
  const form = h(
    "form",
    { class: "card form", id: "signal", novalidate: true },
    field("风险程度", select("level", [["high", "高风险"], ["medium", "中风险"]], { value: "high", required: true })),
    field("风险类型", select("risk_type", c.risk_types, { empty: "不确定" }), "因自然灾害、因意外事故可先行帮扶"),
    field("情况说明", h("textarea", { name: "description", required: true, maxlength: "1000", rows: "4" }), "写清发现的困难，如“户主住院，花费约 3 万元”"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "报告")),
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(form, () => report());
  });
  const report = async () => {
    clearError(form);
    const body = { household_id: Number(id), level: form.elements.level.value, description: form.elements.description.value.trim() };
    if (form.elements.risk_type.value) body.risk_type = form.elements.risk_type.value;
    try {
      const signal = await api("/cases", { method: "POST", json: body });
      result.replaceChildren(
        h("p", { class: "notice" }, OUTCOME[signal.outcome] || signal.outcome),
        signal.case_id ? h("p", {}, h("a", { href: `#/cases/${signal.case_id}` }, `查看案件 ${signal.case_id}`)) : null,
        h("p", {}, h("a", { href: `#/households/${id}` }, "返回农户")),
      );
      const button = form.querySelector("button[type=submit]");
      button.dataset.done = "true"; // reported: the form stays as sent
      button.disabled = true;
    } catch (error) {
      showRefusal(form, error);
    }
  };
  display(here,
    h("p", {}, h("a", { href: `#/households/${id}` }, "← 返回农户")),
    h("h1", {}, "报告困难户"),
    h("p", { class: "muted" }, `农户 ${household.household_no}：报告后进入入户核实。需联网发送。`),
    form,
  );
}

// ---- the drafts ----------------------------------------------------------------------------------

async function draftsPage() {
  const here = location.hash;
  const list = h("div", { id: "drafts-page" });
  const draw = async () => {
    const drafts = await allDrafts();
    list.replaceChildren(draftsSection(drafts, { heading: "待发送的记录" }) || h("p", { class: "muted" }, "没有待发送的记录。"));
  };
  window.addEventListener("drafts-changed", draw);
  window.addEventListener("hashchange", () => window.removeEventListener("drafts-changed", draw), { once: true });
  await draw();
  display(here,
    h("h1", {}, "待发送"),
    h("p", { class: "muted" }, "无网络时填写的记录保存在本机，连上网络后自动发送；被退回的请修改或删除。退出登录会清除这些记录。"),
    list,
  );
}

async function draftPage(ref) {
  const here = location.hash;
  const draft = await getDraft(ref);
  if (!draft) {
    display(here, h("h1", {}, "找不到"), h("p", {}, "这份记录已发送或已删除。"), h("p", {}, h("a", { href: "#/drafts" }, "返回待发送")));
    return;
  }
  if (draft.kind === "household") return registerPage(draft);
  if (draftEditors[draft.kind]) return draftEditors[draft.kind](draft);
  return reportPage(String(draft.household_id), draft);
}

// kept for other modules (a case page may want to send a draft now)
export { sendDraft };

home(["village_cadre", "department_user"], householdsPage);
nav(["village_cadre"], "#/", "农户");
nav(["village_cadre"], "#/households/new", "新增农户");
nav(["village_cadre"], "#/drafts", "待发送");
page(/^households\/new$/, () => registerPage());
page(/^households\/(\d+)$/, householdPage);
page(/^households\/(\d+)\/edit$/, editPage);
page(/^households\/(\d+)\/report$/, (id) => reportPage(id));
page(/^households\/(\d+)\/signal$/, signalPage);
page(/^drafts$/, draftsPage);
page(/^drafts\/([0-9a-f-]{36})$/, draftPage);
