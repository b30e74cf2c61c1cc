// Field work on a household's page: its helper (帮扶责任人) and its visits (走访记录), and the village
// cadre's form to record a visit, with photos taken on the phone (scaled down before they are sent) and,
// when the visit found a problem, a case opened in the same step. With no connection the visit and its
// photos are kept as a draft and sent when the phone is back online.
import { api, field, flash, h, page, session, showRefusal } from "./core.js";
import { clearError, display, draftEditor, householdSection, select, sending } from "./cadre.js";
import { deleteDraft, isNetworkError, newRef, saveDraft } from "./drafts.js";

const KINDS = [
  ["routine", "日常排查"],
  ["verification", "入户核实"],
  ["follow_up", "回头看"],
  ["campaign", "集中排查"],
];
const KIND = Object.fromEntries(KINDS);
const FLAGS = [
  ["income_change", "收入变化"],
  ["illness", "患病"],
  ["disaster", "受灾"],
  ["housing", "住房"],
  ["schooling", "上学"],
  ["water", "饮水"],
];
const FLAG = Object.fromEntries(FLAGS);
const LONGEST_SIDE = 1600; // pixels: a bill stays legible, the upload stays well under the server's limit

const isCadre = () => session.me && session.me.role === "village_cadre";

householdSection(async (id, household) => {
  if (session.me.role === "department_user") return null; // a department reads the registry only
  const [helpers, visits] = await Promise.all([
    api(`/households/${id}/helpers`),
    api(`/households/${id}/visits?page_size=5`),
  ]);
  return [h("h2", {}, "帮扶责任人"), helperBlock(helpers, household), h("h2", {}, "走访记录"), visitsBlock(id, visits)];
});

function helperBlock(pairings, household) {
  const current = pairings.find((p) => !p.ended_on);
  const past = pairings.filter((p) => p.ended_on).length;
  if (!current) {
    const gap = household.monitoring_status === "monitored";
    return h(
      "p",
      { id: "helper", class: gap ? "refused" : "muted" },
      gap ? "监测户尚未结对帮扶责任人：请乡镇安排。" : "未结对帮扶责任人。",
      past ? `（此前 ${past} 位）` : "",
    );
  }
  return h(
    "div",
    { class: "card", id: "helper" },
    h("p", {}, `${current.helper_name} · ${current.helper_unit}`),
    h("p", { class: "muted" }, `电话 ${current.helper_phone_masked} · 自 ${current.started_on} 起`, past ? ` · 此前 ${past} 位` : ""),
  );
}

function visitsBlock(id, visits) {
  const items = visits.items.map((v) =>
    h(
      "li",
      { class: "card visit" },
      h("div", { class: "row" }, h("span", { class: "grow" }, `${v.visited_on} · ${KIND[v.kind] || v.kind}`), v.case_id ? h("a", { href: `#/cases/${v.case_id}` }, `案件 ${v.case_id}`) : null),
      h("p", { class: "muted" }, `走访人：${v.visitors.join("、")}`),
      v.flags.length ? h("p", {}, v.flags.map((f) => h("span", { class: "badge medium" }, FLAG[f] || f))) : null,
      v.findings ? h("p", {}, v.findings) : null,
      v.photos.length
        ? h(
            "div",
            { class: "photos" },
            v.photos.map((p) => h("img", { src: `/api/v1/visits/${v.id}/photos/${p.id}`, alt: `走访照片 ${p.width}×${p.height}`, loading: "lazy", width: "96" })),
          )
        : null,
    ),
  );
  return [
    isCadre() ? h("p", {}, h("a", { class: "button secondary", href: `#/households/${id}/visit` }, "记录走访")) : null,
    items.length ? h("ul", { class: "list", id: "visits" }, items) : h("p", { class: "muted", id: "visits" }, "还没有走访记录。"),
    visits.total > items.length ? h("p", { class: "muted" }, `共 ${visits.total} 次走访，显示最近 ${items.length} 次。`) : null,
  ];
}

// ---- recording a visit -----------------------------------------------------------------------------

async function visitPage(id, draft = null) {
  const here = location.hash;
  const household = draft ? null : await api(`/households/${id}`).catch((error) => {
    if (isNetworkError(error)) return null; // offline: the form works, the draft waits
    throw error;
  });
  const body = draft ? draft.body : null;
  const clientRef = draft ? draft.client_ref : newRef();
  let kept = draft && draft.photos ? draft.photos : [];
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  const flags = h(
    "fieldset",
    { class: "flags" },
    h("legend", {}, "发现（可多选）"),
    FLAGS.map(([code, label]) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "flags", value: code, checked: body ? body.flags.includes(code) : false }), ` ${label}`),
    ),
  );
  const openCase = h("input", { type: "checkbox", name: "open_case", checked: body ? Boolean(body.open_case) : false });
  const photos = h("input", { type: "file", name: "photos", accept: "image/*", capture: "environment", multiple: true });
  const result = h("div", { id: "visit-result", role: "status" });
  const form = h(
    "form",
    { class: "card form", id: "visit", novalidate: true },
    field("走访日期", h("input", { type: "date", name: "visited_on", required: true, max: today, value: body ? body.visited_on : today })),
    field("走访类型", select("kind", KINDS, { value: body ? body.kind : "routine", required: true })),
    field("走访人", h("input", { name: "visitors", required: true, maxlength: "200", value: body ? body.visitors.join("、") : "" }), "多人用顿号或逗号分开"),
    flags,
    field("情况说明", h("textarea", { name: "findings", maxlength: "2000", rows: "4" }, body ? body.findings : ""), "写清看到的情况；不要写身份证号和电话"),
    field("照片", photos, kept.length ? `已附 ${kept.length} 张；可再添加` : "票据、住房等，可拍照或选图，上传前自动压缩"),
    h("label", { class: "check" }, openCase, " 发现困难，立即报告（进入入户核实）"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, draft ? "保存并发送" : "保存走访")),
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(form, () => send());
  });
  const send = async () => {
    clearError(form);
    const out = {
      client_ref: clientRef,
      visited_on: form.elements.visited_on.value,
      kind: form.elements.kind.value,
      visitors: form.elements.visitors.value.split(/[、,，\s]+/).filter(Boolean),
      findings: form.elements.findings.value.trim(),
      flags: [...form.querySelectorAll('input[name="flags"]:checked')].map((c) => c.value),
    };
    if (openCase.checked) out.open_case = { level: "high" };
    const pictures = [...kept, ...(await Promise.all([...photos.files].map(scaled)))];
    const path = `/households/${id}/visits`;
    const keep = async () => {
      await saveDraft({ client_ref: clientRef, kind: "visit", path, household_id: Number(id), title: `户 ${household ? household.household_no : id} 的走访`, body: out, photos: pictures });
      kept = pictures;
    };
    if (!navigator.onLine) {
      await keep();
      result.replaceChildren(h("p", { class: "notice" }, "无网络连接：已保存为待发送（含照片），连上网络后自动发送。"));
      return;
    }
    try {
      const visit = await api(path, { method: "POST", json: out });
      for (const picture of pictures) await api(`/visits/${visit.id}/photos`, { method: "POST", blob: picture });
      if (draft) await deleteDraft(clientRef);
      flash(visit.case_id ? `已记录走访，并已报告（案件 ${visit.case_id}）` : "已记录走访");
      location.hash = `#/households/${id}`;
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
    h("p", {}, h("a", { href: draft ? "#/drafts" : `#/households/${id}` }, draft ? "← 待发送" : "← 返回农户")),
    h("h1", {}, "记录走访"),
    h("p", { class: "muted" }, household ? `农户 ${household.household_no}` : "无网络时也可填写，连网后发送。"),
    draft && draft.refusal ? h("p", { class: "refused", role: "alert" }, `被退回：${draft.refusal.text}`) : null,
    form,
  );
}

/** A photo as the phone will send it: a JPEG at most LONGEST_SIDE pixels on its longer side (a file the
 * browser cannot read as an image goes as it is, and the server says why it refuses it). */
async function scaled(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return file;
  }
  const ratio = Math.min(1, LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = h("canvas", { width: String(Math.round(bitmap.width * ratio)), height: String(Math.round(bitmap.height * ratio)) });
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob || file), "image/jpeg", 0.85));
}

page(/^households\/(\d+)\/visit$/, (id) => visitPage(id));
draftEditor("visit", (draft) => visitPage(String(draft.household_id), draft));

