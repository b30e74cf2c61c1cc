// The district office's records page: bring a district's existing records in from the national system's
// export or a ledger (check first, then import, the rows to fix as a workbook), and take out the monthly
// tables and the decisions for the national system. Every figure is the API's; the page only lays it out.
import { API, ApiError, api, field, h, nav, page, refusalText, say, session, show, when } from "./core.js";

const IMPORTERS = ["district_officer", "admin"];
nav(IMPORTERS, "#/records", "导入与报表");

const ACTION = { create: "新建", update: "更新", unchanged: "无变化", invalid: "有问题" };
const STATUS = { queued: "排队中", running: "进行中", done: "完成", failed: "失败" };
const POLL_MS = 1000;

function thisMonth() {
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  return today.slice(0, 7);
}

function lastMonth() {
  const [year, month] = thisMonth().split("-").map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
}

function problemRows(problems) {
  return problems.map((p) =>
    h(
      "tr",
      {},
      h("td", {}, String(p.line)),
      h("td", {}, p.column ? `${p.column}（${p.column_letter}）` : "—"),
      h("td", {}, p.message_zh || p.message),
    ),
  );
}

function problemTable(caption, problems) {
  if (!problems.length) return null;
  return h(
    "table",
    { class: "records-problems" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", {}, "行"), h("th", {}, "列"), h("th", {}, "问题"))),
    h("tbody", {}, problemRows(problems)),
  );
}

/** What a finished job found or did, with what to do next. */
function reportBlock(job, again) {
  const r = job.report;
  const counts = Object.entries(ACTION).map(([key, label]) => h("li", {}, `${label} ${r.households[key]} 户`));
  const done = r.written ? "已导入" : job.dry_run ? "检查结果（未写入）" : "未写入：文件中有问题";
  const parts = [
    h("h3", {}, `${done} · ${r.rows} 行`),
    h("ul", { class: "records-counts" }, counts),
    h(
      "p",
      { class: "muted" },
      `成员新增 ${r.members_created} 人、修改 ${r.members_updated} 人；年度收入 ${r.reports} 户；监测记录 ${r.monitored} 户。`,
    ),
  ];
  if (r.problem_count) {
    parts.push(
      h(
        "p",
        { class: "form-error", role: "alert" },
        `共 ${r.problem_count} 处问题。` + (r.written ? "有问题的农户未导入。" : "有问题时整个文件都不会写入。"),
      ),
    );
    if (session.me.role === "district_officer") {
      parts.push(
        h("p", {}, h("a", { href: `${API}/imports/${job.id}/problems.xlsx`, id: "problems-download" }, "下载需修改的行（Excel）"), "：改好后重新上传即可。"),
      );
    }
    parts.push(problemTable(r.problem_count > r.problems.length ? `前 ${r.problems.length} 处问题` : "问题", r.problems));
  }
  if (r.warnings.length) parts.push(problemTable("说明（保留了守望中的记录）", r.warnings));
  if (again && job.dry_run && (!r.problem_count || r.households.create + r.households.update > 0)) {
    const skip = h("input", { type: "checkbox", name: "skip_invalid" });
    const go = h("button", { type: "button", id: "import-go" }, r.problem_count ? "导入没有问题的农户" : "确认导入");
    go.addEventListener("click", () => {
      if (r.problem_count && !skip.checked) {
        say("请先勾选“跳过有问题的农户”，或修改文件后重新检查。");
        return;
      }
      go.disabled = true;
      again(r.problem_count > 0);
    });
    parts.push(
      h(
        "div",
        { class: "row records-next" },
        r.problem_count ? h("label", {}, skip, " 跳过有问题的农户（其余照常导入）") : null,
        go,
      ),
    );
  }
  return parts;
}

/** Follow a job until it ends, showing its progress, then its report. */
async function follow(jobId, box, again) {
  for (;;) {
    const job = await api(`/imports/${jobId}`);
    if (job.status === "done") {
      box.replaceChildren(...reportBlock(job, again).filter(Boolean));
      say(job.report.written ? "导入完成。" : "检查完成。");
      return job;
    }
    if (job.status === "failed") {
      box.replaceChildren(h("p", { class: "form-error", role: "alert" }, `失败：${job.error_zh || job.error || "原因见服务日志"}`));
      return job;
    }
    const doing = job.phase === "write" ? "正在写入" : "正在检查";
    box.replaceChildren(
      h("p", { role: "status" }, job.status === "queued" ? "已上传，排队等待处理…" : `${doing}：已完成 ${job.rows_done} 行…`),
      h("progress", {}),
    );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function importSection(refresh) {
  const file = h("input", { type: "file", name: "file", accept: ".xlsx,.csv", required: true });
  const mapping = h("input", { type: "file", name: "mapping", accept: ".yaml,.yml" });
  const note = h("input", { type: "text", name: "note", maxlength: 500, placeholder: "例：全国防返贫监测信息系统 2026 年 11 月导出" });
  const submit = h("button", { type: "submit" }, "上传并检查");
  const result = h("div", { class: "records-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card records-upload" },
    field("文件（Excel 或 CSV，每人一行）", file, "全国系统导出的格式可直接上传；表头不同时请附上列对照文件。"),
    field("列对照文件（可选，YAML）", mapping, "不附则用系统自带的全国系统导出格式。"),
    field("来源说明", note),
    submit,
    result,
  );
  async function send(dryRun, skipInvalid) {
    const body = new FormData();
    body.append("file", file.files[0]);
    if (mapping.files[0]) body.append("mapping", mapping.files[0]);
    body.append("dry_run", String(dryRun));
    body.append("skip_invalid", String(skipInvalid));
    body.append("note", note.value);
    try {
      const job = await api("/imports/households", { method: "POST", multipart: body });
      await follow(job.id, result, dryRun ? (skip) => send(false, skip) : null);
      refresh();
    } catch (error) {
      result.replaceChildren(h("p", { class: "form-error", role: "alert" }, refusalText(error)));
    } finally {
      submit.disabled = false;
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!file.files[0]) return;
    submit.disabled = true;
    result.replaceChildren(h("p", { role: "status" }, "正在上传…"));
    send(true, false);
  });
  return h("section", {}, h("h2", {}, "导入农户"), form);
}

function recentSection() {
  const body = h("tbody", {});
  const table = h(
    "table",
    { class: "records-recent" },
    h("thead", {}, h("tr", {}, ["编号", "文件", "方式", "状态", "结果", "上传时间"].map((t) => h("th", {}, t)))),
    body,
  );
  async function refresh() {
    const jobs = await api("/imports");
    body.replaceChildren(
      ...jobs.map((j) =>
        h(
          "tr",
          {},
          h("td", {}, String(j.id)),
          h("td", {}, j.file_name),
          h("td", {}, j.dry_run ? "检查" : j.skip_invalid ? "导入（跳过有问题的）" : "导入"),
          h("td", {}, STATUS[j.status] || j.status),
          h(
            "td",
            {},
            j.report
              ? `新建 ${j.report.households.create}、更新 ${j.report.households.update}、问题 ${j.report.problem_count}`
              : j.error || "—",
          ),
          h("td", {}, when(j.created_at)),
        ),
      ),
    );
  }
  return { node: h("section", {}, h("h2", {}, "最近的导入"), recentHint(), table), refresh };
}

function recentHint() {
  return h("p", { class: "muted" }, "同一文件重复导入不会重复登记；文件保存 30 天后删除。");
}

function exportsSection() {
  const month = h("input", { type: "month", name: "month", value: lastMonth(), max: thisMonth() });
  const monthly = h("a", { href: "#", id: "monthly-download", class: "button" }, "下载月报表（Excel）");
  const setMonthly = () => monthly.setAttribute("href", `${API}/exports/monthly.xlsx?month=${month.value}`);
  month.addEventListener("change", setMonthly);
  setMonthly();
  const parts = [
    h("h2", {}, "报表"),
    h(
      "div",
      { class: "card" },
      h("h3", {}, "月报表"),
      h("p", { class: "muted" }, "按乡镇：月末监测对象（按类别）、当月新识别、风险消除、帮扶措施、逾期案件。"),
      h("div", { class: "row" }, field("月份", month), monthly),
    ),
  ];
  if (session.me.role === "district_officer") {
    const [year] = thisMonth().split("-");
    const from = h("input", { type: "date", name: "from", value: `${year}-01-01` });
    const to = h("input", { type: "date", name: "to", value: new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }) });
    const decisions = h("a", { href: "#", id: "decisions-download", class: "button" }, "下载认定与消除记录（Excel）");
    const setDecisions = () => decisions.setAttribute("href", `${API}/exports/decisions.xlsx?from=${from.value}&to=${to.value}`);
    from.addEventListener("change", setDecisions);
    to.addEventListener("change", setDecisions);
    setDecisions();
    parts.push(
      h(
        "div",
        { class: "card" },
        h("h3", {}, "上报全国系统"),
        h("p", { class: "muted" }, "这段时间内识别为监测对象和风险消除的农户，每人一行，格式与导入相同；含姓名和身份证号，请妥善保管。"),
        h("div", { class: "row" }, field("从", from), field("到", to), decisions),
      ),
    );
  }
  return h("section", {}, parts);
}

async function recordsPage() {
  if (!IMPORTERS.includes(session.me.role)) {
    show(h("h1", {}, "导入与报表"), h("p", { class: "card form-error", role: "alert" }, "本页只供区（县）乡村振兴部门使用。"));
    return;
  }
  const recent = recentSection();
  show(h("h1", {}, "导入与报表"), importSection(recent.refresh), recent.node, exportsSection());
  try {
    await recent.refresh();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

page(/^records$/, recordsPage);
