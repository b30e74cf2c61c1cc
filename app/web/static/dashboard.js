// The district office's pages: the week's dashboard, the weekly list, the model card. Every figure on
// them is one the API gives (the week's summary, the list, the model's status): the page lays them out
// and draws the trend, it never counts.
import { API, ApiError, api, errorText, field, h, LEVEL, nav, page, say, show, showRefusal, STEP, when } from "./core.js";
import { driftSection } from "./drift.js";

const OVERSEERS = ["district_officer", "township_reviewer"];
nav(OVERSEERS, "#/dashboard", "本周概况");
nav(OVERSEERS, "#/lists", "风险名单");
nav(["district_officer", "admin"], "#/model", "预警模型");

const WEEK = "([0-9]{4}-W[0-9]{2})";
const CHANGE = {
  new: "新增",
  continuing: "持续",
  level_up: "风险升高",
  level_down: "风险降低",
  resolved: "退出名单",
};
const RESOLVED = {
  risk_eliminated: "风险已消除",
  case_rejected: "案件未通过",
  case_withdrawn: "案件撤回",
  score_fell: "风险降低",
  other: "其他",
};
const PAGE_SIZE = 50;

// ---- shared bits -----------------------------------------------------------------------------------

function count(value) {
  return Number(value).toLocaleString("zh-CN");
}

function weekName(week) {
  const [year, number] = week.split("-W");
  return `${year} 年第 ${Number(number)} 周`;
}

/** The weeks that have a current list, newest first (GET /risk-lists). */
async function currentWeeks() {
  const lists = await api("/risk-lists");
  return lists.filter((l) => l.status === "current");
}

/** Show the page's parts (a part may be a list of nodes, or nothing), unless the user has gone on to
 * another page while this one was loading (`here`: the address it was opened at). */
function render(here, ...parts) {
  if (location.hash !== here) return;
  show(...parts.flat(3).filter((part) => part !== null && part !== undefined && part !== false));
}

function noListYet(here, title) {
  render(
    here,
    h("h1", {}, title),
    h("p", { class: "card" }, "还没有任何一周的风险名单，暂无数据。名单每周自动生成一次，生成后会显示在这里。"),
  );
}

/** An API refusal as its own page (403: not for this account). Anything else goes to the router. */
function refused(here, title, error) {
  if (!(error instanceof ApiError) || error.status !== 403) throw error;
  render(here, h("h1", {}, title), h("p", { class: "card form-error", role: "alert" }, `${errorText(error)}：本页的数据不在您的职责范围内。`));
}

/** A form choosing one of the weeks; `go(week)` opens it. */
function weekPicker(weeks, chosen, go) {
  const select = h(
    "select",
    { name: "week" },
    weeks.map((w) => h("option", { value: w.week, selected: w.week === chosen }, weekName(w.week))),
  );
  const form = h(
    "form",
    { class: "dash-week-picker" },
    field("周次", select),
    h("button", { type: "submit", class: "secondary" }, "查看"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(select.value);
  });
  return form;
}

function table(caption, headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows),
    ),
  );
}

function cell(value, name) {
  return h("td", { class: "num", "data-figure": name }, count(value));
}

// ---- the dashboard ---------------------------------------------------------------------------------

async function dashboardPage(week) {
  const here = location.hash;
  const title = "本周概况";
  const weeks = await currentWeeks();
  if (!weeks.length) return noListYet(here, title);
  const chosen = weeks.find((w) => w.week === week) || (week ? null : weeks[0]);
  if (!chosen) throw new ApiError(404, null);
  let summary;
  try {
    summary = await api(`/risk-lists/${chosen.week}/summary`);
  } catch (error) {
    return refused(here, title, error);
  }
  const steps = Object.keys(STEP).filter((s) => s in summary.cases_by_step);
  const reasons = Object.entries(summary.by_reason).slice(0, 8);
  const median = summary.median_days_to_decision;
  render(
    here,
    h("h1", {}, title),
    h(
      "p",
      { class: "muted" },
      `${weekName(summary.week)}的风险名单，生成于 ${when(chosen.generated_at)}；以下数字都是您辖区内的。`,
    ),
    weekPicker(weeks, chosen.week, (w) => (location.hash = `#/dashboard/${w}`)),
    h(
      "dl",
      { class: "dash-figures", "data-week": summary.week },
      figure("名单上的农户", summary.households, "户", "households"),
      figure("比上周新增", summary.changes.new, "户", "new"),
      figure("比上周退出", summary.changes.resolved, "户", "resolved"),
      figure("逾期案件", summary.overdue_cases, "件", "overdue"),
      summary.monitored_without_helper === null ? null : figure("未结对帮扶的监测户", summary.monitored_without_helper, "户", "without-helper"),
      h(
        "div",
        { class: "dash-figure-card" },
        h("dt", {}, "审定用时中位数"),
        h(
          "dd",
          {},
          median === null
            ? h("span", { "data-figure": "median" }, "—")
            : [h("span", { "data-figure": "median", class: "dash-big" }, String(median)), " 天"],
          h("span", { class: "muted dash-block" }, `近 7 天审定 ${count(summary.decisions)} 件`),
        ),
      ),
    ),
    alertsBlock(summary.cluster_alerts),
    h("h2", {}, "各乡镇风险户与逾期案件"),
    summary.by_township.length
      ? table(
          "各乡镇名单上的农户（按风险等级）和逾期案件数",
          ["乡镇", "高风险", "中风险", "其他在册", "逾期案件", "未结对帮扶"],
          summary.by_township.map((t) =>
            h(
              "tr",
              { "data-township": t.township_code },
              h("th", { scope: "row" }, t.township_name),
              cell(t.high, "high"),
              cell(t.medium, "medium"),
              cell(t.low, "low"),
              h("td", { class: t.overdue_cases ? "num below" : "num", "data-figure": "overdue" }, count(t.overdue_cases)),
              h("td", { class: t.monitored_without_helper ? "num below" : "num", "data-figure": "without-helper" }, count(t.monitored_without_helper)),
            ),
          ),
          { id: "by-township", class: "dash-numbers" },
        )
      : h("p", { class: "muted" }, "本周名单上没有农户。"),
    h("p", { class: "muted" }, "“其他在册”：不在高、中风险，但有在办案件或正在监测的农户。"),
    h(
      "div",
      { class: "dash-pair" },
      h(
        "section",
        {},
        h("h2", {}, "与上周相比"),
        table(
          "名单变化（户）",
          ["变化", "户数"],
          Object.entries(CHANGE).map(([code, label]) =>
            h("tr", { "data-change": code }, h("th", { scope: "row" }, label), cell(summary.changes[code] || 0, code)),
          ),
          { id: "changes", class: "dash-numbers" },
        ),
      ),
      h(
        "section",
        {},
        h("h2", {}, "在办案件（按环节）"),
        steps.length
          ? table(
              "名单上农户的在办案件，按当前环节",
              ["环节", "案件数"],
              steps.map((s) =>
                h("tr", { "data-step": s }, h("th", { scope: "row" }, STEP[s]), cell(summary.cases_by_step[s], s)),
              ),
              { id: "steps", class: "dash-numbers" },
            )
          : h("p", { class: "muted", id: "steps" }, "没有在办案件。"),
      ),
    ),
    h("h2", {}, "近 12 周趋势"),
    trend(summary),
    reasons.length
      ? [
          h("h2", {}, "主要风险原因"),
          table(
            "名单上农户的风险原因（一户可有多个原因）",
            ["原因", "户数"],
            reasons.map(([code, n]) =>
              h("tr", {}, h("th", { scope: "row" }, summary.reason_labels[code] || code), cell(n, code)),
            ),
            { id: "reasons", class: "dash-numbers" },
          ),
        ]
      : null,
    h(
      "p",
      {},
      h("a", { href: `#/lists/${summary.week}` }, `查看${weekName(summary.week)}的风险名单`),
    ),
  );
}

/** Many households hit at once this week (a flood, a factory closing): where, how many, and why. */
function alertsBlock(alerts) {
  if (!alerts || !alerts.length) return null;
  return h(
    "section",
    { class: "card dash-alerts", id: "cluster-alerts", role: "alert" },
    h("h2", {}, "集中受灾/返贫预警"),
    h(
      "ul",
      {},
      alerts.map((a) =>
        h("li", {}, `${a.region_name}（${a.level === "village" ? "村" : "乡镇"}）：${a.window_start} 至 ${a.window_end} 有 ${count(a.households)} 户出现新的风险信号，主要原因：${ALERT_REASON[a.dominant_reason] || a.dominant_reason}`),
      ),
    ),
  );
}

const ALERT_REASON = { cadre_report: "基层干部排查", visit: "走访发现", department: "部门筛查", self_application: "农户申报", other: "其他" };

function figure(label, value, unit, name) {
  return h(
    "div",
    { class: "dash-figure-card" },
    h("dt", {}, label),
    h("dd", {}, h("span", { class: "dash-big", "data-figure": name }, count(value)), ` ${unit}`),
  );
}

// ---- the trend, drawn as SVG -------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let chartIds = 0;

/** The trend section: a scope (the whole region or one township), the chart and its figures as a table. */
function trend(summary) {
  const townships = summary.trend.length ? summary.trend[summary.trend.length - 1].by_township : [];
  const scope = h(
    "select",
    { name: "scope" },
    h("option", { value: "" }, "全部（辖区合计）"),
    townships.map((t) => h("option", { value: t.township_code }, t.township_name)),
  );
  const holder = h("div", { class: "dash-chart" });
  const draw = () => {
    const code = scope.value;
    const name = code ? townships.find((t) => t.township_code === code).township_name : "辖区";
    const points = summary.trend.map((w) => {
      const row = code ? w.by_township.find((t) => t.township_code === code) : w;
      return { week: w.week, high: row ? row.high : 0, medium: row ? row.medium : 0 };
    });
    holder.replaceChildren(chart(points, name), trendTable(points, name));
  };
  scope.addEventListener("change", draw);
  draw();
  return h(
    "section",
    { class: "dash-trend", "aria-label": "近 12 周趋势" },
    townships.length > 1 ? h("div", { class: "dash-trend-scope" }, field("范围", scope)) : null,
    holder,
  );
}

function chart(points, name) {
  const id = ++chartIds;
  // drawn at the size it is shown (a phone's narrow chart keeps its labels readable)
  const width = window.matchMedia("(max-width: 40rem)").matches ? 360 : 640;
  const height = width < 640 ? 240 : 260;
  const left = 36;
  const right = 8;
  const top = 12;
  const bottom = 40;
  const tallest = Math.max(1, ...points.map((p) => p.high + p.medium));
  const step = niceStep(tallest);
  const ceiling = Math.ceil(tallest / step) * step;
  const y = (v) => top + (height - top - bottom) * (1 - v / ceiling);
  const slot = (width - left - right) / Math.max(points.length, 1);
  const bar = Math.min(36, slot * 0.6);
  const grid = [];
  for (let v = 0; v <= ceiling; v += step) {
    grid.push(
      s("line", { class: "dash-grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }),
      s("text", { class: "dash-tick", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)),
    );
  }
  const bars = points.map((p, i) => {
    const x = left + slot * i + (slot - bar) / 2;
    const label = `${weekName(p.week)}：高风险 ${p.high} 户，中风险 ${p.medium} 户`;
    return s(
      "g",
      { class: "dash-week" },
      s("title", {}, label),
      s("rect", { class: "dash-high", x, width: bar, y: y(p.high), height: y(0) - y(p.high) }),
      s("rect", { class: "dash-medium", x, width: bar, y: y(p.high + p.medium), height: y(p.high) - y(p.high + p.medium) }),
      s("text", { class: "dash-tick", x: x + bar / 2, y: height - bottom + 16, "text-anchor": "middle" }, `W${p.week.slice(6)}`),
    );
  });
  const last = points[points.length - 1];
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `chart-title-${id} chart-desc-${id}`,
      preserveAspectRatio: "xMidYMid meet",
    },
    s("title", { id: `chart-title-${id}` }, `${name}近 ${points.length} 周高、中风险户数`),
    s(
      "desc",
      { id: `chart-desc-${id}` },
      last
        ? `柱状图，每周一根柱子，下段为高风险户数，上段为中风险户数。最近一周（${weekName(last.week)}）高风险 ${last.high} 户，中风险 ${last.medium} 户。各周数字见下表。`
        : "还没有数据。",
    ),
    grid,
    s("line", { class: "dash-axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
    bars,
    s("text", { class: "dash-tick", x: left, y: height - 6 }, "户数按周（ISO 周次）"),
  );
  const legend = h(
    "p",
    { class: "dash-legend", "aria-hidden": "true" },
    h("span", { class: "dash-key dash-high" }),
    "高风险　",
    h("span", { class: "dash-key dash-medium" }),
    "中风险",
  );
  return h("figure", {}, svg, legend);
}

function niceStep(tallest) {
  const rough = tallest / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

function trendTable(points, name) {
  return h(
    "details",
    { class: "dash-trend-table" },
    h("summary", {}, "查看各周数字"),
    table(
      `${name}各周高、中风险户数`,
      ["周次", "高风险", "中风险"],
      points.map((p) => h("tr", { "data-week": p.week }, h("th", { scope: "row" }, weekName(p.week)), cell(p.high, "high"), cell(p.medium, "medium"))),
      { class: "dash-numbers" },
    ),
  );
}

// ---- the weekly list -----------------------------------------------------------------------------------

const FILTERS = ["township", "village", "level", "reason", "change", "overdue"];

function query() {
  const found = new URLSearchParams(location.hash.split("?")[1] || "");
  const out = {};
  for (const name of [...FILTERS, "page"]) if (found.get(name)) out[name] = found.get(name);
  return out;
}

function options(pairs, chosen, none = "全部") {
  return [h("option", { value: "" }, none), ...pairs.map(([value, label]) => h("option", { value, selected: value === chosen }, label))];
}

async function listPage(week) {
  const here = location.hash;
  const title = "风险名单";
  const weeks = await currentWeeks();
  if (!weeks.length) return noListYet(here, title);
  const chosen = weeks.find((w) => w.week === week) || (week ? null : weeks[0]);
  if (!chosen) throw new ApiError(404, null);
  const asked = query();
  const filters = Object.fromEntries(FILTERS.filter((f) => asked[f]).map((f) => [f, asked[f]]));
  const pageNo = Math.max(1, Number.parseInt(asked.page || "1", 10) || 1);
  const [townships, villages] = await Promise.all([
    api("/regions?level=township&page_size=500"),
    api("/regions?level=village&page_size=500"),
  ]);
  let found = null;
  let refusal = null;
  try {
    const params = new URLSearchParams({ ...filters, page: String(pageNo), page_size: String(PAGE_SIZE) });
    found = await api(`/risk-lists/${chosen.week}?${params}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) return refused(here, title, error);
    refusal = error;
  }
  const labels = found ? found.reason_labels : {};

  const township = h("select", { name: "township" }, options(townships.items.map((t) => [t.code, t.name]), filters.township));
  const village = h("select", { name: "village" });
  const fillVillages = () => {
    const within = villages.items.filter((v) => !township.value || v.parent_code === township.value);
    village.replaceChildren(...options(within.map((v) => [v.code, v.name]), filters.village));
  };
  township.addEventListener("change", fillVillages);
  fillVillages();
  const form = h(
    "form",
    { class: "dash-filters card", "aria-label": "筛选名单" },
    h("div", { class: "dash-filter-grid" }, [
      field("周次", h("select", { name: "week" }, weeks.map((w) => h("option", { value: w.week, selected: w.week === chosen.week }, weekName(w.week))))),
      field("乡镇", township),
      field("村", village),
      field("风险等级", h("select", { name: "level" }, options(Object.entries(LEVEL), filters.level))),
      field("风险原因", h("select", { name: "reason" }, options(Object.entries(labels), filters.reason))),
      field("本周变化", h("select", { name: "change" }, options(Object.entries(CHANGE), filters.change))),
      field("案件逾期", h("select", { name: "overdue" }, options([["true", "仅逾期"], ["false", "未逾期"]], filters.overdue))),
    ]),
    h(
      "div",
      { class: "dash-actions" },
      h("button", { type: "submit" }, "筛选"),
      h("a", { href: `#/lists/${chosen.week}`, class: "button secondary" }, "清除筛选"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosenFilters = new URLSearchParams();
    for (const name of FILTERS) if (form.elements[name].value) chosenFilters.set(name, form.elements[name].value);
    const tail = chosenFilters.toString();
    location.hash = `#/lists/${form.elements.week.value}${tail ? `?${tail}` : ""}`;
  });

  const exportLink = (format, label) => {
    const params = new URLSearchParams({ ...filters, format });
    const link = h("a", { class: "button secondary", href: `${API}/risk-lists/${chosen.week}?${params}`, download: "" }, label);
    // the browser fetches the file itself: an access cookie that expired while the page stood open is
    // renewed first, or the download would be the API's 401
    link.addEventListener("click", async (event) => {
      if (link.dataset.renewed) {
        delete link.dataset.renewed;
        return;
      }
      event.preventDefault();
      try {
        await api("/auth/me");
      } catch (error) {
        say(errorText(error));
        return;
      }
      link.dataset.renewed = "1";
      link.click();
    });
    return link;
  };
  const body = [];
  if (found) {
    const pages = Math.max(1, Math.ceil(found.total / found.page_size));
    body.push(
      h(
        "div",
        { class: "dash-downloads" },
        exportLink("csv", "下载 CSV"),
        exportLink("xlsx", "下载 Excel"),
        h("p", { class: "muted" }, "下载的文件含本页筛选条件下的全部农户（不只本页）。"),
      ),
      h("p", { id: "list-total" }, `共 ${count(found.total)} 户`, found.total ? `，第 ${found.page} / ${pages} 页` : ""),
      found.items.length ? entriesTable(found.items) : h("p", { class: "card" }, "没有符合筛选条件的农户。"),
      pager(found.page, pages, chosen.week, filters),
    );
  }
  render(
    here,
    h("h1", {}, title),
    h("p", { class: "muted" }, `${weekName(chosen.week)}，生成于 ${when(chosen.generated_at)}。表中不列户主姓名和身份证号，下载的文件中身份证号已脱敏。`),
    form,
    body,
  );
  if (refusal && location.hash === here) showRefusal(form, refusal);
}

function entriesTable(items) {
  // each cell carries its column's name: a phone shows a household as a card of labelled lines
  const cellOf = (label, attrs, ...children) => h("td", { "data-label": label, ...attrs }, ...children);
  return table(
    "名单上的农户",
    ["户编号", "乡镇 · 村", "风险等级", "风险原因", "本周变化", "在办案件", "帮扶措施"],
    items.map((e) =>
      h(
        "tr",
        { "data-household": e.household_no },
        h("th", { scope: "row", class: "dash-nowrap" }, e.household_no),
        cellOf("乡镇 · 村", { class: "dash-place" }, h("span", { class: "dash-nowrap" }, e.township_name), " ", h("span", { class: "dash-nowrap" }, e.village_name)),
        cellOf("风险等级", {}, e.level && e.level in LEVEL ? h("span", { class: `badge ${e.level}` }, LEVEL[e.level]) : "—"),
        cellOf("风险原因", { class: "dash-reasons" }, e.reasons || "—"),
        cellOf("本周变化", { class: "dash-change" }, changeText(e)),
        cellOf(
          "在办案件",
          { class: "dash-case" },
          e.case_step
            ? h("span", { class: "dash-nowrap" }, STEP[e.case_step] || e.case_step, e.case_days_open === null ? "" : e.case_days_open === 0 ? "（今天立案）" : `（已 ${e.case_days_open} 天）`)
            : "—",
          e.overdue ? [" ", h("span", { class: "badge high" }, "已逾期")] : null,
        ),
        cellOf("帮扶措施", { class: "dash-measures" }, e.measures || "—"),
      ),
    ),
    { id: "entries", class: "dash-cards" },
  );
}

function changeText(e) {
  const label = CHANGE[e.change] || e.change;
  if (e.change === "resolved") return `${label}（${RESOLVED[e.resolved_reason] || "其他"}）`;
  if (e.previous_level && e.change !== "continuing") return `${label}（上周${LEVEL[e.previous_level] || e.previous_level}）`;
  return label;
}

function pager(current, pages, week, filters) {
  if (pages <= 1) return null;
  const go = (n) => {
    const params = new URLSearchParams({ ...filters, page: String(n) });
    location.hash = `#/lists/${week}?${params}`;
  };
  return h(
    "nav",
    { class: "dash-pager", "aria-label": "翻页" },
    h("button", { type: "button", class: "secondary", disabled: current <= 1, onclick: () => go(current - 1) }, "上一页"),
    h("span", {}, `第 ${current} / ${pages} 页`),
    h("button", { type: "button", class: "secondary", disabled: current >= pages, onclick: () => go(current + 1) }, "下一页"),
  );
}

// ---- the model card ----------------------------------------------------------------------------------

const METRICS = [
  ["recall_at_10", "预警 10% 农户时的查全率", "若每次预警全区 10% 的农户，后来真正返贫、致贫的农户中有多大比例事先被预警。越高越好，这是决定是否换用新模型的指标。"],
  ["precision_at_10", "预警 10% 农户时的准确率", "被预警的农户中，后来真正返贫、致贫的比例。越高越好。"],
  ["recall_at_5", "预警 5% 农户时的查全率", "只预警 5% 农户时，真正返贫、致贫的农户被提前找出的比例。"],
  ["precision_at_5", "预警 5% 农户时的准确率", "只预警 5% 农户时，被预警农户中真正返贫、致贫的比例。"],
  ["roc_auc", "区分能力（AUC）", "随机取一户后来返贫的和一户没有返贫的，前者风险排得更高的概率；0.5 相当于随便猜，1 为完全分开。"],
  ["pr_auc", "平均准确率（PR-AUC）", "综合各种预警比例下的准确率；越高越好。"],
  ["brier", "概率误差（Brier 分数）", "预测概率与实际结果之差的平方平均；越低越好。政策规则和离监测线距离只排先后、不给概率，没有这一项。"],
];
const SCORERS = [
  ["model", "预警模型"],
  ["rules", "政策规则"],
  ["distance_to_line", "离监测线距离"],
  ["logistic_regression", "逻辑回归"],
];
// who started a training: the worker's schedule, the command line, the demo's first start, else a person
const TRAINED_BY = { schedule: "定时训练", cli: "命令行训练", demo: "演示数据首次启动时训练", request: "管理员请求" };
const MODEL_STATUS = { active: "在用", retired: "已停用", rejected: "未采用", pending: "待管理员确认" };
const SCORER_LABEL = Object.fromEntries(SCORERS);

function metricText(metric) {
  if (!metric) return h("span", { class: "muted" }, "不适用");
  const range = metric.low !== null && metric.high !== null ? `${metric.low} – ${metric.high}` : null;
  return [
    h("span", { class: "dash-value", "data-value": "" }, String(metric.value)),
    range ? h("span", { class: "muted dash-block", "data-range": "" }, `（95% 区间 ${range}）`) : null,
  ];
}

function day(iso) {
  const [y, m, d] = iso.split("-");
  return `${y} 年 ${Number(m)} 月 ${Number(d)} 日`;
}

async function modelPage() {
  const here = location.hash;
  const title = "预警模型";
  let status;
  try {
    status = await api("/risk/model");
  } catch (error) {
    return refused(here, title, error);
  }
  const current = status.current;
  const champion = current ? SCORER_LABEL[current.champion] || current.champion : "";
  const mode = {
    cold_start: "冷启动：还没有训练出预警模型，风险评分只按政策规则进行。积累足够的历史数据后会训练模型。",
    model: `风险评分同时使用政策规则和${champion}（第 ${current ? current.id : ""} 版）：它在轮换检验中胜过更简单的方法。`,
    baseline: `风险评分同时使用政策规则和“${champion}”（第 ${current ? current.id : ""} 版）：本区的历史数据上，预警模型没有把握胜过这一简单方法，所以用它。`,
    unusable: `在用的第 ${current ? current.id : ""} 版无法加载，评分暂时只按政策规则进行${status.pending ? `；新训练的第 ${status.pending.id} 版等待管理员确认后启用` : "，直到重新训练"}。`,
  }[status.reason_code];
  const modeTitle = { model: "评分方式：预警模型 + 政策规则", baseline: `评分方式：${champion} + 政策规则` }[status.mode] || "评分方式：仅政策规则";
  const parts = [
    h("h1", {}, title),
    h(
      "div",
      { class: "card", id: "model-mode" },
      h("p", {}, h("strong", {}, modeTitle)),
      h("p", {}, mode),
    ),
  ];
  if (current) {
    let names = {};
    try {
      const townships = await api("/regions?level=township&page_size=500");
      names = Object.fromEntries(townships.items.map((t) => [t.code, t.name]));
    } catch {
      // the codes stand in for the names
    }
    parts.push(
      h("h2", {}, `第 ${current.id} 版模型（${MODEL_STATUS[current.status] || current.status}）`),
      h(
        "dl",
        { class: "dash-facts" },
        fact("训练数据", `${day(current.train_from)} 至 ${day(current.train_to)}，${count(current.examples_train)} 个样本`),
        fact("检验方法", `用 ${day(current.test_period)} 当时已知的情况预测此后是否返贫、致贫，再与实际结果对照（模型训练时没有见过这段数据）`),
        fact("检验农户", `${count(current.examples_test)} 户，其中后来返贫、致贫 ${count(current.positives_test)} 户`),
        fact("训练时间", `${when(current.created_at)}（${TRAINED_BY[current.created_by] || "管理员"}）`),
      ),
      ...(current.folds ? foldsTable(current, names) : []),
      h("h2", {}, "最近一期检验的各项成绩"),
      h("p", { class: "muted" }, "同一批检验农户上，预警模型与三种简单方法的成绩。括号里是 95% 区间：换一批同样多的农户检验，成绩大致落在这个范围内。"),
      table(
        "检验成绩（数值越高越好，概率误差越低越好）",
        ["指标", ...SCORERS.map(([, label]) => label)],
        METRICS.map(([code, label]) =>
          h(
            "tr",
            { "data-metric": code },
            h("th", { scope: "row" }, label),
            SCORERS.map(([scorer]) =>
              h(
                "td",
                { "data-scorer": scorer, "data-label": SCORERS.find(([code]) => code === scorer)[1] },
                metricText(scorer === "model" ? current.metrics[code] : (current.baselines[scorer] || {})[code]),
              ),
            ),
          ),
        ),
        { id: "metrics", class: "dash-cards" },
      ),
      h(
        "dl",
        { class: "dash-explain" },
        METRICS.flatMap(([, label, words]) => [h("dt", {}, label), h("dd", {}, words)]),
        h("dt", {}, "对照方法"),
        h("dd", {}, "政策规则：现行的规则评分；离监测线距离：人均纯收入越接近监测线越先预警；逻辑回归：最简单的统计模型。"),
      ),
    );
    if (current.recall_at_10_by_township.length) {
      parts.push(
        h("h2", {}, "预警模型在最近一期检验中各乡镇的查全率"),
        table(
          "预警全区 10% 农户时，各乡镇后来返贫、致贫的农户被提前预警的比例",
          ["乡镇", "检验农户", "返贫、致贫", "查全率"],
          current.recall_at_10_by_township.map((t) =>
            h(
              "tr",
              { "data-township": t.township },
              h("th", { scope: "row" }, names[t.township] || t.township),
              h("td", { class: "num" }, count(t.households)),
              h("td", { class: "num" }, count(t.positives)),
              h("td", { class: "num", "data-figure": "recall" }, t.recall_at_10 === null ? "—" : String(t.recall_at_10)),
            ),
          ),
          { id: "by-township", class: "dash-numbers" },
        ),
      );
    }
  }
  if (status.recent.length) {
    parts.push(
      h("h2", {}, "最近训练的版本"),
      table(
        "最近训练的模型版本（新的在前）",
        ["版本", "状态", "选用方法", "训练时间", "检验时点", "选用方法的查全率"],
        status.recent.map((m) =>
          h(
            "tr",
            { "data-model": String(m.id) },
            h("th", { scope: "row" }, `第 ${m.id} 版`),
            h("td", { "data-label": "状态" }, MODEL_STATUS[m.status] || m.status),
            h("td", { "data-label": "选用方法", "data-champion": m.champion }, SCORER_LABEL[m.champion] || m.champion),
            h("td", { "data-label": "训练时间" }, when(m.created_at)),
            h("td", { "data-label": "检验时点" }, day(m.test_period)),
            h(
              "td",
              { "data-label": "选用方法的查全率", "data-figure": "recall_at_10" },
              // the champion's over the folds; a version trained before the folds: the model's hold-out
              metricText(m.folds ? m.folds.scorers[m.champion].recall : m.metrics.recall_at_10),
            ),
          ),
        ),
        { id: "versions", class: "dash-cards" },
      ),
      h("p", { class: "muted" }, "每次训练在同样的轮换检验上比较预警模型和三种简单方法，选查全率最高的；成绩在误差范围内持平时选更简单的。新选出的方法只有在同一批检验农户上不比在用的差时才会换上；否则标为“未采用”，留作记录。在用版本无法加载时，新版本须管理员确认后才启用。"),
    );
  }
  parts.push(await driftSection()); // drift (issue 15.5): app/web/static/drift.js
  render(here, ...parts);
}

/** A scorer's recall minus the champion's, with the paired interval the choice rests on, in words. */
function versusText(folds, scorer, champion) {
  const difference = (folds.differences || {})[`${scorer}-${champion}`];
  if (scorer === champion || !difference) return "—";
  const signed = (x) => (x > 0 ? `+${x}` : String(x));
  const verdict =
    difference.low !== null && difference.low > 0
      ? "更好，有把握"
      : difference.high !== null && difference.high < 0
        ? "更差，有把握"
        : "差别在误差范围内";
  const range = difference.low !== null ? `（95% 区间 ${signed(difference.low)} – ${signed(difference.high)}）` : "";
  return [h("span", { "data-verdict": "" }, verdict), h("span", { class: "muted dash-block" }, `${signed(difference.value)}${range}`)];
}

function foldsTable(current, names) {
  const folds = current.folds;
  const budget = `${Math.round(folds.budget * 100)}%`;
  const periods = folds.periods.map(day).join("、");
  const mine = folds.scorers[current.champion];
  return [
    h("h2", {}, "选用哪种方法：轮换检验"),
    h(
      "p",
      { class: "muted", id: "why-champion" },
      `依次以 ${periods} 为检验时点，只用当时已知的数据训练，再看此后谁先被预警。预警全区 ${budget} 农户时的查全率（括号内为 95% 区间）：`,
    ),
    table(
      `预警 ${budget} 农户时的查全率，${folds.folds} 次轮换检验合计`,
      ["方法", "查全率", "与选用方法相比", "是否选用"],
      SCORERS.filter(([scorer]) => folds.scorers[scorer]).map(([scorer, label]) =>
        h(
          "tr",
          { "data-fold-scorer": scorer },
          h("th", { scope: "row" }, label),
          h("td", {}, metricText(folds.scorers[scorer].recall)),
          h("td", { "data-versus": "" }, versusText(folds, scorer, current.champion)),
          h("td", {}, scorer === current.champion ? h("strong", {}, "选用") : ""),
        ),
      ),
      { id: "folds", class: "dash-cards" },
    ),
    mine && mine.by_township.length
      ? table(
          `${SCORER_LABEL[current.champion] || current.champion}在各乡镇的查全率（轮换检验合计）`,
          ["乡镇", "检验样本", "返贫、致贫", "查全率"],
          mine.by_township.map((t) =>
            h(
              "tr",
              { "data-fold-township": t.township },
              h("th", { scope: "row" }, names[t.township] || t.township),
              h("td", { class: "num" }, count(t.examples)),
              h("td", { class: "num" }, count(t.positives)),
              h("td", {}, metricText(t.recall)),
            ),
          ),
          { id: "folds-by-township", class: "dash-cards" },
        )
      : h("p", { class: "muted" }, "各乡镇的查全率：这一版训练时还没有记录。"),
  ];
}

function fact(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

page(new RegExp(`^dashboard(?:/${WEEK})?$`), dashboardPage);
page(new RegExp(`^lists(?:/${WEEK})?$`), listPage);
page(/^model$/, modelPage);
