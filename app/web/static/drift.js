// The model card's drift section: how far the latest scoring run's households moved from those the model
// learned from (GET /risk/drift), one bar per feature's population stability index, for the district or
// one township, with the policy's thresholds drawn in. Every figure is the API's; the page only draws.
import { field, h, optional } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";
const STATUS = {
  stable: "稳定",
  watch: "值得留意",
  drift: "明显漂移",
  too_few: "农户太少，不作判断",
  not_comparable: "无法比较",
};

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function scopeName(scope) {
  return scope.township_code ? scope.township_name || scope.township_code : "全区";
}

function referenceText(reference) {
  const window = `${reference.window_from} 至 ${reference.window_to}`;
  if (reference.kind === "training") return `对照数据：第 ${reference.model_id} 版模型的训练数据（报告期末 ${window}）。`;
  if (reference.kind === "first_run") return `还没有训练过模型，对照的是第一次完成的评分（第 ${reference.run_id} 次，${reference.window_to}）。`;
  return "这是第一次完成的评分：以后的评分都与它对照，所以这里各项指数都是 0。";
}

let charts = 0;

/** One bar per variable (the features, then the score): its PSI, the thresholds as vertical lines. */
function chart(scope, thresholds) {
  const id = ++charts;
  const rows = [...scope.features, scope.score];
  const width = window.matchMedia("(max-width: 40rem)").matches ? 360 : 640;
  const left = 8;
  const right = 56; // room for the value written after the bar
  const rowHeight = 36;
  const top = 8;
  const bottom = 30;
  const height = top + rows.length * rowHeight + bottom;
  const drift = Number(thresholds.drift_psi);
  const watch = Number(thresholds.watch_psi);
  const tallest = Math.max(...rows.map((v) => v.psi || 0));
  // up to twice the drift threshold, or the largest value up to 1: a PSI of 18 must not flatten the rest
  const ceiling = Math.max(2 * drift, Math.min(Math.ceil(tallest * 10) / 10, 1));
  const x = (v) => left + (width - left - right) * Math.min(v / ceiling, 1);
  const bars = rows.map((v, i) => {
    const y = top + i * rowHeight;
    const value = v.psi === null ? "—" : String(v.psi);
    return s(
      "g",
      { class: `drift-row drift-${v.status}`, "data-variable": v.name },
      s("title", {}, `${v.label}：PSI ${value}，${STATUS[v.status]}`),
      s("text", { class: "drift-label", x: left, y: y + 13 }, v.label),
      s("rect", { class: "drift-track", x: left, y: y + 18, width: x(ceiling) - left, height: 12 }),
      v.psi === null ? null : s("rect", { class: "drift-bar", x: left, y: y + 18, width: Math.max(x(v.psi) - left, 1), height: 12 }),
      // the thresholds across the bar only, so the labels above stay clear
      s("line", { class: "drift-watch-line", x1: x(watch), x2: x(watch), y1: y + 15, y2: y + 33 }),
      s("line", { class: "drift-drift-line", x1: x(drift), x2: x(drift), y1: y + 15, y2: y + 33 }),
      s("text", { class: "drift-value", x: x(v.psi || 0) + 4, y: y + 29 }, v.psi !== null && v.psi > ceiling ? `${value} ›` : value),
    );
  });
  const line = (v, cls, label) => [
    s("line", { class: cls, x1: x(v), x2: x(v), y1: height - bottom + 2, y2: height - bottom + 10 }),
    s("text", { class: "drift-tick", x: x(v), y: height - 6, "text-anchor": "middle" }, label),
  ];
  const drifted = rows.filter((v) => v.status === "drift").map((v) => v.label);
  return h(
    "figure",
    {},
    s(
      "svg",
      { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `drift-title-${id} drift-desc-${id}`, preserveAspectRatio: "xMidYMid meet" },
      s("title", { id: `drift-title-${id}` }, `${scopeName(scope)}各项指标的人群稳定指数（PSI）`),
      s(
        "desc",
        { id: `drift-desc-${id}` },
        `横条越长，本次评分的农户在这项指标上与对照数据差得越多。竖线为 ${watch}（值得留意）和 ${drift}（明显漂移）。` +
          (drifted.length ? `明显漂移：${drifted.join("、")}。` : "没有指标明显漂移。") +
          "各项数字见下表。",
      ),
      line(watch, "drift-watch-line", `留意 ${watch}`),
      line(drift, "drift-drift-line", `漂移 ${drift}`),
      bars,
    ),
  );
}

function figures(scope) {
  const share = (v) => (v === null ? "—" : `${Math.round(v * 1000) / 10}%`);
  return h(
    "details",
    { class: "dash-trend-table" },
    h("summary", {}, "查看各项数字"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "dash-numbers drift-table" },
        h("caption", {}, `${scopeName(scope)}：本次 ${scope.households} 户，对照 ${scope.reference_count} 户·期`),
        h("thead", {}, h("tr", {}, ["指标", "PSI", "判断", "本次缺失", "对照缺失"].map((x) => h("th", { scope: "col" }, x)))),
        h(
          "tbody",
          {},
          [...scope.features, scope.score].map((v) =>
            h(
              "tr",
              { "data-variable": v.name },
              h("th", { scope: "row" }, v.label),
              h("td", { class: "num", "data-figure": "psi" }, v.psi === null ? "—" : String(v.psi)),
              h("td", { "data-figure": "status" }, STATUS[v.status]),
              h("td", { class: "num" }, share(v.missing_share)),
              h("td", { class: "num" }, share(v.reference_missing_share)),
            ),
          ),
        ),
      ),
    ),
  );
}

function flagged(report) {
  const scopes = [report.district, ...report.townships].filter((scope) => scope.drifted.length);
  if (!scopes.length) return h("p", { id: "drift-flags", class: "card" }, "各项指标都没有明显漂移。");
  const label = (scope, name) => [...scope.features, scope.score].find((v) => v.name === name).label;
  return h(
    "div",
    { id: "drift-flags", class: "card", role: "note" },
    h("p", {}, h("strong", {}, "与对照数据相比，以下指标明显漂移（农户的情况已不同于对照时的样子，预警结果需要多加核实）：")),
    h(
      "ul",
      {},
      scopes.map((scope) =>
        h("li", { "data-scope": scope.township_code || "" }, `${scopeName(scope)}：${scope.drifted.map((n) => label(scope, n)).join("、")}`),
      ),
    ),
  );
}

/** The section's nodes: nothing to ask before the first completed run (a 404 would be an error). */
export async function driftSection() {
  const title = h("h2", { id: "drift" }, "数据漂移");
  const runs = await optional("/risk/runs?page_size=20");
  const report = runs && runs.items.some((r) => r.status === "completed") ? await optional("/risk/drift") : null;
  if (!report) return [title, h("p", { class: "muted", id: "drift-none" }, "还没有记录了数据分布的评分，完成一次评分后这里会显示。")];
  const scopes = [report.district, ...report.townships];
  const scope = h(
    "select",
    { name: "drift-scope" },
    scopes.map((sc, i) => h("option", { value: String(i) }, `${scopeName(sc)}（${STATUS[sc.status]}）`)),
  );
  const holder = h("div", { class: "dash-chart drift-chart" });
  const draw = () => {
    const chosen = scopes[Number(scope.value)];
    holder.replaceChildren(chart(chosen, report.thresholds), figures(chosen));
  };
  scope.addEventListener("change", draw);
  draw();
  return [
    title,
    h(
      "p",
      { class: "muted" },
      `第 ${report.run_id} 次评分（${report.as_of}）的农户与对照数据相比，各项指标分布的变化（人群稳定指数 PSI）：` +
        `${report.thresholds.watch_psi} 以下基本不变，超过 ${report.thresholds.watch_psi} 值得留意，超过 ${report.thresholds.drift_psi} 为明显漂移。` +
        `不足 ${report.thresholds.min_households} 户的乡镇只列数字、不作判断。`,
    ),
    h("p", { class: "muted", id: "drift-reference" }, referenceText(report.reference)),
    flagged(report),
    h("section", { class: "drift", "aria-label": "数据漂移" }, scopes.length > 1 ? h("div", { class: "dash-trend-scope" }, field("范围", scope)) : null, holder),
  ];
}
