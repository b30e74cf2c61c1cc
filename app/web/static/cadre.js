// The village cadre's pages (phone first): the village's households, a household's page.
import { api, ApiError, h, home, LEVEL, page, session, show, STATUS, yuan } from "./core.js";

function lineFor(lines, year) {
  const known = lines.filter((l) => l.year <= year).sort((a, b) => a.year - b.year);
  const chosen = known.length ? known[known.length - 1] : lines[0];
  return chosen ? Number(chosen.amount) : null;
}

async function householdsPage() {
  // a department sees households, not the risk findings or the village's visit list
  const village = session.me.role === "village_cadre";
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
    h("p", {}, h("a", { href: "#/" }, session.me.role === "village_cadre" || session.me.role === "department_user" ? "← 农户列表" : "← 待办案件")),
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


home(["village_cadre", "department_user"], householdsPage);
page(/^households\/(\d+)$/, householdPage);
