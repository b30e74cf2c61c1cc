// The case desk: the inbox (待办案件), a case's page with the forms for exactly the actions the API
// allows now (the case's `allowed_actions`), and the notifications. The server decides every rule; the
// page shows what it answers and sends what the user enters.
import { ACTION, actorName, API, api, field, flash, h as element, home, LEVEL, nav, optional, page, replaceAddress, route, say, session, show as showNodes, showRefusal, STATUS, STEP, yuan } from "./core.js";

// core's h and show, taking parts nested at any depth (optional sections are arrays or null)
const h = (tag, attrs, ...children) => element(tag, attrs, ...children.flat(Infinity));
const show = (...nodes) => showNodes(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));

const CASE_ROLES = ["village_cadre", "township_reviewer", "district_officer"];
const SOURCE = {
  risk_scorer: "系统预警",
  cadre_report: "干部排查",
  department: "部门数据",
  self_application: "农户申请",
};
const DIFFICULTY = {
  living: "基本生活",
  employment: "就业",
  education: "教育",
  medical: "医疗",
  housing: "住房",
  drinking_water: "饮水",
  other: "其他",
};
const OUTCOME = { confirmed: "已认定", rejected: "未通过", withdrawn: "已撤销" };
const KIND = { identification: "识别纳入监测", elimination: "风险消除" };
// timeline entries that are not the procedure's actions (those are named by core.js's ACTION)
const EVENT = {
  opened: "立案",
  signal: "新线索",
  escalated: "逾期升级",
  amended: "农户修改申请",
};
const NOTE = { new_work: "新的待办", returned: "案件被退回", escalated: "逾期升级给您", assigned: "改派给您", cluster_alert: "集中预警" };
const CATEGORY = { none: "—" };

// the form's choices as the server lists them (its own enums), asked for once
let choices = null;
async function formChoices() {
  choices = choices || (await api("/households/choices"));
  return choices;
}

/** A code in words; a code the page has no word for is not shown raw but as `other`. */
function words(map, code, other = "其他") {
  return map[code] || other;
}
// what a timeline entry's data holds, in words; other keys are not shown
const DATA = {
  visited_on: "走访日期",
  visitors: "走访人",
  findings: "核实情况",
  consent_signed: "承诺授权",
  held_on: "评议日期",
  outcome: "评议结果",
  attendees: "参会人数",
  starts_on: "公示开始",
  ends_on: "公示结束",
  objections: "异议",
  comment: "意见",
  reason: "理由",
  monitoring_category: "监测类别",
  risk_types: "风险类型",
  source: "来源",
  level: "风险等级",
  to: "升级给",
  user_id: "改派给（用户编号）",
  due_at: "原到期",
};
const VALUE = { agreed: "同意", disagreed: "不同意", true: "已签", false: "未签" };
const ROLE_WORDS = { township_reviewer: "乡镇审核员", district_officer: "区乡村振兴局", village_cadre: "村干部" };

/** A moment on the district's clock, to the minute. */
function at(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", {
    timeZone: "Asia/Shanghai",
    hour12: false,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** Today in the district (Asia/Shanghai) as YYYY-MM-DD: a default for date fields, nothing more. */
function districtToday() {
  return new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
}

function stepBadge(c) {
  if (c.status === "closed") return h("span", { class: "badge desk-closed" }, OUTCOME[c.outcome] || "已办结");
  return h("span", { class: "badge case" }, STEP[c.step] || c.step);
}

// ---- the inbox ------------------------------------------------------------------------------------

const FILTERS = ["township_code", "village_code", "step", "overdue", "source", "risk_type"];
// the district office narrows by township, a township's reviewer by village
const PLACE = {
  district_officer: { level: "township", name: "township_code", label: "乡镇" },
  township_reviewer: { level: "village", name: "village_code", label: "村" },
};

function inboxQuery() {
  const query = location.hash.split("?")[1] || "";
  const params = new URLSearchParams(query);
  return Object.fromEntries(FILTERS.filter((n) => params.get(n)).map((n) => [n, params.get(n)]));
}

function caseCard(c) {
  return h(
    "li",
    { class: `card desk-case-card${c.overdue ? " desk-late" : ""}` },
    h(
      "a",
      { href: `#/cases/${c.id}` },
      h(
        "div",
        { class: "row" },
        h("span", { class: "grow" }, `户 ${c.household_no || c.household_id}`),
        stepBadge(c),
        c.level ? h("span", { class: `badge ${c.level}` }, LEVEL[c.level] || c.level) : null,
        c.overdue ? h("span", { class: "badge desk-late" }, "已逾期") : null,
      ),
      h(
        "div",
        { class: "muted" },
        `案件 ${c.id} · ${c.village_name || c.village_code} · ${words(SOURCE, c.source)}`,
      ),
      h("div", { class: c.overdue ? "desk-due desk-late-text" : "desk-due muted" }, `${c.overdue ? "已于" : "到期"} ${at(c.due_at)}${c.overdue ? " 到期" : ""}`),
    ),
  );
}

async function inboxPage() {
  const here = location.hash;
  const chosen = inboxQuery();
  const place = PLACE[session.me.role];
  const [regions, { risk_types: riskTypes }] = await Promise.all([
    place ? api(`/regions?level=${place.level}&page_size=500`) : null,
    formChoices(),
  ]);
  const select = (name, label, options) =>
    field(
      label,
      h(
        "select",
        { name, id: `filter-${name}` },
        h("option", { value: "" }, "全部"),
        Object.entries(options).map(([value, text]) => h("option", { value, selected: chosen[name] === value }, text)),
      ),
    );
  const filters = h(
    "form",
    { class: "desk-filters", "aria-label": "筛选" },
    place ? select(place.name, place.label, Object.fromEntries(regions.items.map((r) => [r.code, r.name]))) : null,
    select("overdue", "是否逾期", { true: "已逾期", false: "未逾期" }),
    select("step", "环节", STEP),
    select("source", "来源", SOURCE),
    select("risk_type", "风险类型", Object.fromEntries(riskTypes.map((t) => [t, t]))),
  );
  const summary = h("p", { class: "muted", id: "inbox-summary" });
  const list = h("ul", { class: "list cases", id: "inbox" });
  // the address this page holds; if the user goes elsewhere while an answer is awaited, the page stays away
  let mine = here;
  // only the latest choice's answer is shown: an earlier one that comes back after it is dropped
  let asked = 0;
  const load = async () => {
    if (location.hash !== mine) return;
    const ours = ++asked;
    const wanted = Object.fromEntries(FILTERS.filter((n) => filters.elements[n]).map((n) => [n, filters.elements[n].value]).filter(([, v]) => v));
    const query = new URLSearchParams({ page_size: "200", ...wanted });
    // the filters stay in the address (no personal data in them), so going back keeps them
    const kept = new URLSearchParams(wanted).toString();
    mine = `#/inbox${kept ? `?${kept}` : ""}`;
    replaceAddress(mine);
    const inbox = await api(`/inbox?${query}`);
    if (location.hash !== mine || ours !== asked) return;
    summary.textContent = `共 ${inbox.total} 件，其中已逾期 ${inbox.overdue} 件；按到期时间排列。`;
    list.replaceChildren(...inbox.items.map(caseCard));
    if (!inbox.items.length) list.append(h("li", { class: "muted" }, "没有待办案件。"));
  };
  filters.addEventListener("change", () => load().catch((error) => say(error.message)));
  filters.addEventListener("submit", (event) => event.preventDefault());
  await load();
  if (location.hash !== mine) return;
  show(h("h1", {}, "待办案件"), filters, summary, list);
}

// ---- a case ---------------------------------------------------------------------------------------

function facts(pairs) {
  return h(
    "dl",
    { class: "desk-facts" },
    pairs.filter(([, value]) => value !== null && value !== undefined && value !== "").map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function householdBlock(c, members) {
  const hh = c.household;
  const income = hh.latest_income;
  const incomeLine = income
    ? h(
        "p",
        { class: income.below_line ? "below" : null, id: "case-income" },
        `截至 ${income.period_end} 的 12 个月人均纯收入 `,
        yuan(income.per_capita_net_income),
        income.estimated ? "（估算）" : "",
        income.below_line === null ? "" : income.below_line ? "，低于当年监测线 " : "，不低于当年监测线 ",
        yuan(income.monitoring_line),
      )
    : h("p", { class: "muted" }, "尚无报告。");
  const active = members ? members.filter((m) => m.active) : [];
  return [
    h("h2", {}, "农户"),
    h(
      "div",
      { class: "card" },
      facts([
        ["户编号", h("a", { href: `#/households/${hh.id}` }, hh.household_no)],
        ["所在", [hh.township_name, hh.village_name].filter(Boolean).join(" ")],
        ["户类型", hh.household_type],
        ["监测状态", STATUS[hh.monitoring_status] || hh.monitoring_status],
        ["监测类别", CATEGORY[hh.monitoring_category] || hh.monitoring_category],
        ["人口", `${hh.size} 人`],
      ]),
      incomeLine,
    ),
    members
      ? [
          h("h3", {}, "家庭成员"),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "desk-members" },
              h("thead", {}, h("tr", {}, ["姓名", "关系", "身份证号", "出生年", "健康", "劳动能力"].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                active.map((m) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, m.name),
                    h("td", {}, m.relation),
                    h("td", {}, h("span", { class: "figure" }, m.id_number)),
                    h("td", {}, m.birth_year),
                    h("td", {}, m.health || "—"),
                    h("td", {}, m.labour_capacity || "—"),
                  ),
                ),
              ),
            ),
          ),
        ]
      : null,
  ];
}

/** The texts not shown yet (each text once on the page), remembering them in `seen`. */
function unseen(texts, seen) {
  return texts.filter((text) => {
    if (!text || seen.has(text)) return false;
    seen.add(text);
    return true;
  });
}

function riskBlock(c, risk) {
  const seen = new Set();
  const reasons = risk ? unseen(risk.reasons.map((r) => r.text), seen) : [];
  const factors = risk && risk.factors ? unseen(risk.factors.map((f) => f.text), seen) : [];
  const clues = unseen(c.reasons.map((r) => r.text || "其他原因"), seen);
  return [
    h("h2", {}, "风险"),
    h(
      "div",
      { class: "card" },
      risk
        ? [
            h("div", { class: "row" }, h("span", { class: "grow" }, "最近一次评分"), h("span", { class: `badge ${risk.level}` }, LEVEL[risk.level] || risk.level)),
            h("ul", { id: "risk-reasons" }, reasons.map((text) => h("li", {}, text))),
            factors.length ? [h("p", { class: "muted" }, "预警模型的主要因素："), h("ul", { id: "risk-factors" }, factors.map((text) => h("li", {}, text)))] : null,
          ]
        : h("p", { class: "muted" }, "尚无评分结果。"),
      // the case's signals, less what the score above already says
      clues.length ? [h("p", { class: "muted" }, "案件的其他线索："), h("ul", { id: "case-reasons" }, clues.map((text) => h("li", {}, text)))] : null,
    ),
  ];
}

function applicationBlock(applications) {
  if (!applications.length) return null;
  return [
    h("h2", {}, "农户申请（救助平台）"),
    applications.map((a) =>
      h(
        "div",
        { class: "card desk-application", id: `application-${a.application_id}` },
        facts([
          ["申请编号", a.application_id],
          ["申请人", a.applicant_name],
          ["身份证号", h("span", { class: "figure" }, a.id_number)],
          ["电话", h("span", { class: "figure" }, a.phone)],
          ["地址", a.address],
          ["申报人口", `${a.household_size} 人`],
          ["困难类型", words(DIFFICULTY, a.difficulty_type)],
          ["情况说明", a.description],
          ["申报损失", a.stated_loss === null ? null : yuan(a.stated_loss)],
          ["提交时间", at(a.submitted_at)],
          ["代办人", a.on_behalf_of ? `${a.on_behalf_of.name || ""} ${a.on_behalf_of.relation || ""} ${a.on_behalf_of.phone || ""}`.trim() : null],
          ["附件", a.attachments.length ? a.attachments.map((x) => x.name).join("、") : null],
          ["户籍", a.provisional_household ? "申请人未在册，已临时建档，待入户核实" : null],
          ["修改次数", a.amendments ? String(a.amendments) : null],
        ]),
      ),
    ),
  ];
}

function dataValue(value) {
  if (Array.isArray(value)) return value.join("、");
  if (typeof value === "boolean") return VALUE[String(value)];
  if (value && typeof value === "object") return null;
  const text = String(value);
  return VALUE[text] || ROLE_WORDS[text] || SOURCE[text] || LEVEL[text] || (text.match(/^\d{4}-\d\d-\d\dT/) ? at(text) : text);
}

function timelineBlock(c) {
  return [
    h("h2", {}, "办理经过"),
    h(
      "ol",
      { class: "desk-timeline", id: "timeline" },
      c.timeline.map((e) =>
        h(
          "li",
          { class: "card" },
          h("div", { class: "row" }, h("span", { class: "grow" }, EVENT[e.action] || words(ACTION, e.action, "办理")), h("span", { class: "muted" }, words(STEP, e.step, ""))),
          h("div", { class: "muted desk-actor" }, `${at(e.at)} · ${actorName(e.actor)}`),
          facts(
            Object.entries(e.data)
              .filter(([key, value]) => DATA[key] && value !== "" && value !== null)
              .map(([key, value]) => [DATA[key], dataValue(value)]),
          ),
        ),
      ),
    ),
  ];
}

// ---- the action forms: one per allowed action, fields as the API's bodies -------------------------

function input(name, attrs = {}) {
  return h("input", { name, ...attrs });
}

function textarea(name, attrs = {}) {
  return h("textarea", { name, rows: 3, ...attrs });
}

const FORMS = {
  verify: {
    title: "入户核实",
    button: "提交入户核实",
    fields: () => [
      field("走访日期", input("visited_on", { type: "date", required: true, value: districtToday() })),
      field("走访人", input("visitors", { required: true, autocomplete: "off" }), "多人用顿号或逗号隔开"),
      field("核实情况", textarea("findings", { required: true, maxlength: 2000 })),
      h("div", { class: "desk-check" }, input("consent_signed", { type: "checkbox", id: "f-consent" }), h("label", { for: "f-consent" }, "农户已签署承诺授权书")),
    ],
    body: (f) => ({
      visited_on: f.visited_on.value,
      visitors: f.visitors.value.split(/[、,，;；\s]+/).filter(Boolean),
      findings: f.findings.value,
      consent_signed: f.consent_signed.checked,
    }),
  },
  review: {
    title: "民主评议",
    button: "提交民主评议结果",
    fields: () => [
      field("评议日期", input("held_on", { type: "date", required: true, value: districtToday() })),
      field("评议结果", h("select", { name: "outcome" }, h("option", { value: "agreed" }, "同意"), h("option", { value: "disagreed" }, "不同意（案件结束）"))),
      field("参会人数", input("attendees", { type: "number", min: 1, max: 10000, inputmode: "numeric", required: true })),
    ],
    body: (f) => ({ held_on: f.held_on.value, outcome: f.outcome.value, attendees: Number(f.attendees.value) }),
  },
  notice: {
    title: "公示",
    button: "开始公示",
    fields: () => [
      field("公示开始日期", input("starts_on", { type: "date", required: true, value: districtToday() }), "公示期满后乡镇方可审核"),
      field("异议（如有）", textarea("objections", { maxlength: 2000 })),
    ],
    body: (f) => ({ starts_on: f.starts_on.value, objections: f.objections.value }),
  },
  approve: {
    title: "乡镇审核",
    button: "审核通过",
    asks: true,
    fields: () => [field("审核意见（可不填）", textarea("comment", { maxlength: 500 }))],
    body: (f) => ({ comment: f.comment.value }),
  },
  return: {
    title: "退回村里重新核实",
    button: "退回",
    secondary: true,
    fields: () => [field("退回理由", textarea("reason", { required: true, maxlength: 500 }))],
    body: (f) => ({ reason: f.reason.value }),
  },
  confirm: {
    title: "县级审定",
    button: "审定通过",
    asks: true,
    fields: (c) =>
      c.kind === "elimination"
        ? [h("p", { class: "muted" }, "审定通过后，该户标为风险已消除。")]
        : [
            field("监测类别", h("select", { name: "monitoring_category", required: true }, h("option", { value: "" }, "请选择"), c.confirm_categories.map((v) => h("option", { value: v }, v)))),
            h(
              "fieldset",
              { class: "desk-choices" },
              h("legend", {}, "风险类型（1 至 5 项）"),
              c.riskTypes.map((t, i) =>
                h("div", { class: "desk-check" }, input("risk_types", { type: "checkbox", value: t, id: `f-risk-${i}` }), h("label", { for: `f-risk-${i}` }, t)),
              ),
            ),
          ],
    body: (f, c) =>
      c.kind === "elimination"
        ? {}
        : {
            monitoring_category: f.monitoring_category.value || null,
            risk_types: [...f.querySelectorAll('[name="risk_types"]:checked')].map((x) => x.value),
          },
  },
  reject: {
    title: "县级审定不通过",
    button: "审定不通过",
    secondary: true,
    fields: () => [field("不通过理由", textarea("reason", { required: true, maxlength: 500 }))],
    body: (f) => ({ reason: f.reason.value }),
  },
  close: {
    title: "撤销案件",
    button: "撤销案件",
    secondary: true,
    folded: true,
    fields: () => [field("撤销理由", textarea("reason", { required: true, maxlength: 500 }), "如录入错误、重复、农户自愿撤回")],
    body: (f) => ({ reason: f.reason.value }),
  },
  reassign: {
    title: "改派给他人",
    button: "改派",
    secondary: true,
    folded: true,
    fields: (c) =>
      c.assignees.length
        ? [
            field("改派给", h("select", { name: "user_id", required: true }, c.assignees.map((a) => h("option", { value: a.id }, `${a.username}（${ROLE_WORDS[a.role] || a.role}）`)))),
            field("改派理由", textarea("reason", { required: true, maxlength: 500 })),
          ]
        : [h("p", { class: "muted" }, "没有可改派的人员。")],
    body: (f) => ({ user_id: Number(f.user_id.value), reason: f.reason.value }),
  },
};

function actionForm(c, action) {
  const spec = FORMS[action];
  if (!spec) return null;
  const id = `action-${action}`;
  const fields = spec.fields(c);
  const usable = !(action === "reassign" && !c.assignees.length);
  const form = h(
    "form",
    { class: "desk-action-form", id, "aria-labelledby": `${id}-title`, novalidate: true },
    spec.folded ? null : h("h3", { id: `${id}-title` }, spec.title),
    fields,
    usable ? h("button", { type: "submit", class: spec.secondary ? "secondary" : null }, spec.button) : null,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (!button || button.disabled) return; // sending already: never twice
    // the decisions that change a household's status are asked about once more
    if (spec.asks && !window.confirm(`确定对户 ${c.household.household_no}「${spec.button}」吗？`)) return;
    button.disabled = true;
    try {
      await api(`/cases/${c.id}/actions`, { method: "POST", json: { action, ...spec.body(form, c) } });
    } catch (error) {
      button.disabled = false;
      showRefusal(form, error);
      return;
    }
    flash(`已提交：${spec.title}`); // still said on the case as the server now has it
    await route(); // with its new allowed actions
  });
  if (!spec.folded) return h("div", { class: "card" }, form);
  return h("details", { class: "card" }, h("summary", { id: `${id}-title` }, spec.title), form);
}

function actionsBlock(c) {
  if (c.status === "closed") return [h("h2", {}, "办理"), h("p", { class: "muted" }, `案件已办结（${words(OUTCOME, c.outcome, "已办结")}），${at(c.closed_at)}。`)];
  const forms = c.allowed_actions.map((a) => actionForm(c, a)).filter(Boolean);
  const steps = c.allowed_actions.filter((a) => FORMS[a] && !FORMS[a].folded);
  return [
    h("h2", {}, "办理"),
    steps.length ? null : h("p", { class: "muted" }, `此案件目前在「${STEP[c.step] || c.step}」环节，这一步不由您办理。`),
    h("div", { class: "desk-actions", id: "actions" }, forms),
  ];
}

async function casePage(id) {
  const here = location.hash;
  const c = await api(`/cases/${id}`);
  const [household, applications, asked] = await Promise.all([
    optional(`/households/${c.household_id}`),
    api(`/cases/${id}/applications`),
    c.allowed_actions.includes("confirm") ? formChoices() : null,
  ]);
  c.riskTypes = asked ? asked.risk_types : [];
  if (location.hash !== here) return; // the user went elsewhere meanwhile
  const back = session.me.role === "village_cadre" ? h("a", { href: `#/households/${c.household_id}` }, "← 农户") : h("a", { href: "#/inbox" }, "← 待办案件");
  show(
    h("p", { class: "desk-back" }, back, session.me.role === "village_cadre" ? [" · ", h("a", { href: "#/inbox" }, "待办案件")] : null),
    h("h1", {}, `案件 ${c.id} · 户 ${c.household.household_no}`),
    h(
      "div",
      { class: "row desk-case-head" },
      stepBadge(c),
      c.level ? h("span", { class: `badge ${c.level}` }, LEVEL[c.level] || c.level) : null,
      c.overdue ? h("span", { class: "badge desk-late" }, "已逾期") : null,
      c.decision_overdue ? h("span", { class: "badge desk-late" }, "超过审定时限") : null,
    ),
    facts([
      ["类型", words(KIND, c.kind)],
      ["来源", words(SOURCE, c.source)],
      ["立案", at(c.opened_at)],
      ["公示期满", c.notice_ends_on ? `${c.notice_ends_on}（自该日起乡镇可审核）` : null],
      [c.status === "open" ? "本环节到期" : "办结", c.status === "open" ? at(c.due_at) : at(c.closed_at)],
      c.status === "open" ? ["审定时限", at(c.decision_due_at)] : ["", null],
      c.assigned_user_id ? ["改派给", c.assignees.find((a) => a.id === c.assigned_user_id)?.username || `用户 ${c.assigned_user_id}`] : ["", null],
    ]),
    // the village's notice lists every household of the village at this step: print it, post it, then
    // record its start below
    c.status === "open" && c.step === "public_notice"
      ? h(
          "p",
          { class: "desk-notice-print" },
          h("a", { href: `${API}/villages/${c.village_code}/public-notice.pdf`, target: "_blank", rel: "noopener", id: "print-notice" }, "打印本村公示（PDF，A4）"),
          "：列出本村处于公示环节的全部农户，不含身份证号、电话、健康和收入。",
        )
      : null,
    // on a phone the forms come first; on a desk they stand beside the household and the timeline
    h(
      "div",
      { class: "desk-case-layout" },
      h("section", { class: "desk-case-side", "aria-label": "办理" }, actionsBlock(c)),
      h(
        "div",
        { class: "desk-case-main" },
        householdBlock(c, household ? household.members : null),
        riskBlock(c, c.household.risk),
        applicationBlock(applications),
        timelineBlock(c),
      ),
    ),
  );
}

// ---- notifications --------------------------------------------------------------------------------

async function notificationsPage() {
  const here = location.hash;
  const notes = await api("/notifications?page_size=100");
  if (location.hash !== here) return; // the user went elsewhere meanwhile
  const list = h("ul", { class: "list", id: "notifications" });
  const item = (n) => {
    const mark = h("button", { type: "button", class: "secondary" }, "标为已读");
    mark.addEventListener("click", async () => {
      mark.disabled = true;
      try {
        const read = await api(`/notifications/${n.id}/read`, { method: "POST" });
        li.replaceWith(item(read));
        unreadCount();
      } catch (error) {
        mark.disabled = false;
        say(error.message);
      }
    });
    const li = h(
      "li",
      { class: `card desk-note${n.read_at ? "" : " desk-unread"}` },
      h(
        "div",
        { class: "row" },
        h("span", { class: "grow" }, n.read_at ? "" : h("span", { class: "desk-dot", "aria-label": "未读" }, "● "), words(NOTE, n.kind, "通知")),
        h("span", { class: "muted" }, at(n.created_at)),
      ),
      n.case_id
        ? h("div", {}, h("a", { href: `#/cases/${n.case_id}` }, `案件 ${n.case_id} · ${words(STEP, n.step, "")}`))
        : h("div", {}, n.text || ""),
      n.read_at ? null : mark,
    );
    return li;
  };
  list.replaceChildren(...notes.items.map(item));
  if (!notes.items.length) list.append(h("li", { class: "muted" }, "没有通知。"));
  const all = h("button", { type: "button", class: "secondary", id: "read-all" }, "全部标为已读");
  all.addEventListener("click", async () => {
    all.disabled = true;
    try {
      const { marked } = await api("/notifications/read-all", { method: "POST" });
      flash(`已将 ${marked} 条通知标为已读`);
      await route();
      unreadCount();
    } catch (error) {
      all.disabled = false;
      say(error.message);
    }
  });
  const anyUnread = notes.items.some((n) => !n.read_at);
  show(h("h1", {}, "通知"), h("div", { class: "row" }, h("p", { class: "muted grow" }, `共 ${notes.total} 条。`), anyUnread ? all : null), list);
}

// the unread count beside 通知 in the top bar, asked for whenever the bar is drawn (again if the bar is
// redrawn while asking)
const NOTES_LINK = '#nav a[href="#/notifications"]';
let counting = false;
let again = false;

async function unreadCount() {
  if (counting) {
    again = true;
    return;
  }
  counting = true;
  try {
    do {
      again = false;
      if (!session.me || !document.querySelector(NOTES_LINK)) return;
      const unread = await api("/notifications?unread=true&page_size=1");
      const link = document.querySelector(NOTES_LINK);
      if (!link) continue;
      const badge = link.querySelector(".desk-count") || link.appendChild(h("span", { class: "desk-count" }));
      badge.textContent = unread.total ? String(unread.total) : "";
      badge.setAttribute("aria-label", `${unread.total} 条未读`);
      badge.hidden = !unread.total;
    } while (again);
  } catch {
    // the count is a hint: the notifications page itself says what went wrong
  } finally {
    counting = false;
  }
}

function watchNav() {
  const bar = document.getElementById("nav");
  if (!bar) return;
  new MutationObserver(() => {
    const link = bar.querySelector('a[href="#/notifications"]');
    if (link && !link.querySelector(".desk-count")) unreadCount();
  }).observe(bar, { childList: true });
}

watchNav();
nav(CASE_ROLES, "#/inbox", "待办");
nav([...CASE_ROLES, "admin"], "#/notifications", "通知");
home(["township_reviewer", "district_officer"], inboxPage);
home(["admin"], notificationsPage); // admins read no household data: their escalations come as notifications
page(/^inbox$/, inboxPage);
page(/^cases\/(\d+)$/, casePage);
page(/^notifications$/, notificationsPage);
