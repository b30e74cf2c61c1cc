// Offline drafts: a report or a new household entered with no connection (or whose sending failed for
// want of a network) is kept on the phone in IndexedDB until it is sent. Each draft carries the client_ref
// made once when its form opened, so sending it again (a lost answer, two open pages) never stores twice:
// the server answers the stored record. A refusal (422, 409…) stays on the draft with the server's
// message until the cadre corrects or deletes it. A draft is deleted as soon as the server has it, and
// every draft is forgotten on logout.
import { api, ApiError, beforeLogout, csrfToken, h, onLogout, refusalText, say } from "./core.js";

const DB_NAME = "shouwang-drafts";
const STORE = "drafts";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "client_ref" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One transaction; the database is closed after it, so that a logout can delete it at once.
async function transact(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** A new client_ref: made once per form, kept with its draft. */
export function newRef() {
  return crypto.randomUUID();
}

/** Whether an error is the network's (no connection, the request never answered), not the server's. */
export function isNetworkError(error) {
  return !(error instanceof ApiError);
}

export async function allDrafts() {
  const drafts = (await transact("readonly", (store) => store.getAll())) || [];
  return drafts.sort((a, b) => a.saved_at.localeCompare(b.saved_at));
}

export function getDraft(ref) {
  return transact("readonly", (store) => store.get(ref));
}

/** Keep a draft: { client_ref, kind: "report" | "household" | "visit", path, household_id?, title, body,
 * photos? (a visit's, as image Blobs) }. */
export async function saveDraft(draft) {
  await transact("readwrite", (store) =>
    store.put({ ...draft, state: "pending", refusal: null, saved_at: new Date().toISOString() }),
  );
  changed();
}

export async function deleteDraft(ref) {
  await transact("readwrite", (store) => store.delete(ref));
  changed();
}

async function keepRefusal(draft, error) {
  const refusal = { status: error.status, text: refusalText(error), body: error.body || null };
  await transact("readwrite", (store) => store.put({ ...draft, state: "refused", refusal }));
}

function changed() {
  window.dispatchEvent(new Event("drafts-changed"));
  drawBar();
}

// ---- sending --------------------------------------------------------------------------------------

let sending = null;

/** Send every pending draft, one after the other; one run at a time. */
export function sendAll() {
  if (!sending) sending = sendPending().finally(() => (sending = null));
  return sending;
}

async function sendPending() {
  if (!navigator.onLine || !csrfToken()) return; // no connection, or nobody logged in
  const pending = (await allDrafts()).filter((d) => d.state === "pending");
  let sent = 0;
  let refused = 0;
  for (const draft of pending) {
    try {
      await sendWithPhotos(draft);
      await transact("readwrite", (store) => store.delete(draft.client_ref));
      sent += 1;
    } catch (error) {
      if (isNetworkError(error) || error.status === 401 || error.status === 429 || error.status >= 500) break;
      await keepRefusal(draft, error); // the server's answer: it stays with the draft for the cadre
      refused += 1;
    }
  }
  if (sent || refused) {
    changed();
    const parts = [sent ? `已自动发送 ${sent} 份待发送的记录` : "", refused ? `${refused} 份被退回，请查看` : ""];
    say(parts.filter(Boolean).join("；"));
  }
}

/** Send one draft now (after the cadre corrected it): the server's answer, or the error. */
export async function sendDraft(draft) {
  const answer = await sendWithPhotos(draft);
  await deleteDraft(draft.client_ref);
  return answer;
}

/** The draft's record, then its photos (a visit's): each is idempotent, so a draft whose sending broke off
 * is sent whole again — the server answers what it already has. */
async function sendWithPhotos(draft) {
  const answer = await api(draft.path, { method: "POST", json: draft.body });
  for (const photo of draft.photos || []) {
    await api(`/visits/${answer.id}/photos`, { method: "POST", blob: photo });
  }
  return answer;
}

// ---- showing them ----------------------------------------------------------------------------------

const KIND = { report: "季度报告", household: "新增农户", visit: "走访记录" };

/** The drafts (of one household, or all) as a list with their state, to edit or delete. */
export function draftsSection(drafts, { heading = "待发送" } = {}) {
  if (!drafts.length) return null;
  return h(
    "section",
    { class: "drafts", "aria-labelledby": "drafts-heading" },
    h("h2", { id: "drafts-heading" }, `${heading}（${drafts.length}）`),
    h(
      "ul",
      { class: "list", id: "drafts" },
      drafts.map((d) =>
        h(
          "li",
          { class: `card draft draft-${d.state}` },
          h(
            "div",
            { class: "row" },
            h("span", { class: "grow" }, `${KIND[d.kind] || d.kind}：${d.title}`),
            d.state === "refused"
              ? h("span", { class: "badge high" }, "被退回")
              : h("span", { class: "badge pending" }, "待发送"),
          ),
          d.state === "refused" ? h("p", { class: "form-error" }, d.refusal.text) : null,
          h("p", { class: "muted" }, `保存于 ${new Date(d.saved_at).toLocaleString("zh-CN", { hour12: false })}`),
          h(
            "div",
            { class: "actions" },
            h("a", { class: "button secondary", href: `#/drafts/${d.client_ref}` }, "修改"),
            h(
              "button",
              {
                type: "button",
                class: "secondary",
                onclick: async () => {
                  if (confirm(`删除这份${KIND[d.kind] || "记录"}？删除后不能恢复。`)) await deleteDraft(d.client_ref);
                },
              },
              "删除",
            ),
          ),
        ),
      ),
    ),
  );
}

// A line under the top bar on every page, the offline one included: how many drafts wait to be sent.
function drawBar() {
  allDrafts()
    .then((drafts) => {
      let bar = document.getElementById("drafts-bar");
      if (!drafts.length) {
        if (bar) bar.remove();
        return;
      }
      if (!bar) {
        bar = h("p", { id: "drafts-bar", class: "drafts-bar", role: "status" });
        document.querySelector("header.bar").insertAdjacentElement("afterend", bar);
      }
      const refused = drafts.filter((d) => d.state === "refused").length;
      const waiting = drafts.length - refused;
      const text = [
        waiting ? `${waiting} 份待发送${navigator.onLine ? "" : "（无网络，连上后自动发送）"}` : "",
        refused ? `${refused} 份被退回` : "",
      ].filter(Boolean);
      bar.replaceChildren(h("a", { href: "#/drafts" }, text.join("，")));
    })
    .catch(() => {});
}

/** Forget every draft (on logout): the store is emptied, then the database deleted. */
export async function clearDrafts() {
  await transact("readwrite", (store) => store.clear());
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
  const bar = document.getElementById("drafts-bar");
  if (bar) bar.remove();
}

onLogout(clearDrafts);
// unsent or refused drafts are deleted at logout: the cadre confirms it first
beforeLogout(async () => {
  const count = (await allDrafts().catch(() => [])).length;
  return count ? `还有 ${count} 份草稿未发送，退出后将被删除。确定退出吗？` : "";
});
window.addEventListener("online", () => {
  drawBar();
  sendAll();
});
window.addEventListener("offline", drawBar);
drawBar();
// on page load: whatever was kept while offline goes out now (after the page has found its session)
setTimeout(() => sendAll().catch(() => {}), 500);
