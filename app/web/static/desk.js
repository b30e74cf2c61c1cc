// The township reviewer's and the district office's case desk: the inbox, a case.
import { api, h, home, show, STEP } from "./core.js";

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


home(["township_reviewer", "district_officer", "admin"], inboxPage);
