// The chat pane bound to a case: history, suggestions, and streamed answers (SSE over fetch).

import { api } from "./api.js";
import { banner, fmtDate, h, mount } from "./dom.js";

const SUGGESTIONS = ["为什么推荐这些资源？", "有没有离家近一点的助餐点", "换一个周末也开的", "她能申请助浴吗", "现在的方案是什么"];

function modeLabel(meta) {
  if (!meta || !meta.mode) return "";
  return meta.mode === "llm" ? `大模型 ${meta.model || ""}`.trim() : "离线规则回答（未使用大模型）";
}

/** Build the pane. ``onPlanChanged`` runs after an answer that saved a new plan version. */
export function chatPane(caseId, { onPlanChanged } = {}) {
  const log = h("div", { class: "chat-log", id: "chat-log", role: "log", "aria-live": "polite" });
  const input = h("textarea", { id: "chat-input", placeholder: "问问助手，如“有没有离家近一点的助餐点”（Enter 发送，Shift+Enter 换行）", "aria-label": "对话输入" });
  const send = h("button", { type: "submit", class: "btn btn-primary", id: "chat-send" }, "发送");
  const mode = h("span", { class: "tag tag-muted", id: "chat-mode" }, "");
  const controller = new AbortController();
  let busy = false;

  function bubble(message) {
    const body = h("div", { class: "msg-body" }, message.content);
    const meta = h("div", { class: "msg-meta" }, [message.role === "user" ? message.actor : modeLabel(message.meta), fmtDate(message.created_at)].filter(Boolean).join(" · "));
    const el = h("div", { class: `msg msg-${message.role}`, dataset: { role: message.role } }, body, meta);
    log.append(el);
    log.scrollTop = log.scrollHeight;
    return { el, body, meta };
  }

  function setMode(meta) {
    const label = modeLabel(meta);
    if (label) mode.textContent = meta.mode === "llm" ? "大模型" : "离线规则";
  }

  async function load() {
    try {
      const messages = await api(`/api/cases/${encodeURIComponent(caseId)}/messages`, { signal: controller.signal });
      log.replaceChildren();
      if (!messages.length) {
        log.append(h("p", { class: "muted", id: "chat-empty" }, "可以让助手解释匹配理由、找替代资源、增删方案条目或判断资格。回答中的资源都标有「名称」（编号）。"));
      }
      messages.forEach(bubble);
      const last = [...messages].reverse().find((m) => m.role === "assistant");
      if (last) setMode(last.meta);
    } catch (err) {
      if (err.name !== "AbortError") log.replaceChildren(banner("error", err.message));
    }
  }

  async function ask(text) {
    if (busy || !text.trim()) return;
    busy = true;
    send.disabled = true;
    document.getElementById("chat-empty")?.remove();
    bubble({ role: "user", content: text, actor: "我", created_at: new Date().toISOString() });
    const answer = bubble({ role: "assistant", content: "", meta: {}, created_at: null });
    answer.el.classList.add("pending");
    answer.body.textContent = "正在思考…";
    let received = "";
    try {
      const response = await api(`/api/cases/${encodeURIComponent(caseId)}/messages`, {
        method: "POST",
        json: { content: text },
        query: { stream: true },
        raw: true,
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let done = null;
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
          if (!data) continue;
          const payload = JSON.parse(data);
          if (payload.delta) {
            received += payload.delta;
            answer.body.textContent = received;
            log.scrollTop = log.scrollHeight;
          }
          if (payload.done) done = payload;
        }
      }
      answer.el.classList.remove("pending");
      if (done) {
        answer.body.textContent = done.answer.content;
        answer.meta.textContent = [modeLabel(done.answer.meta), fmtDate(done.answer.created_at)].filter(Boolean).join(" · ");
        setMode(done.answer.meta);
        if (done.plan_changed && onPlanChanged) onPlanChanged();
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      answer.el.classList.remove("pending");
      answer.body.replaceChildren(banner("error", err.message));
    } finally {
      busy = false;
      send.disabled = false;
      log.scrollTop = log.scrollHeight;
    }
  }

  const form = h(
    "form",
    {
      class: "chat-form",
      onsubmit: (event) => {
        event.preventDefault();
        const text = input.value;
        input.value = "";
        ask(text);
      },
    },
    input,
    send,
  );
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  const element = h(
    "section",
    { class: "chat", id: "chat" },
    h("div", { class: "chat-head" }, h("h3", {}, "对话助手"), mode),
    log,
    h("div", { class: "chat-suggestions" }, SUGGESTIONS.map((s) => h("button", { type: "button", class: "btn", onclick: () => ask(s) }, s))),
    form,
  );
  load();
  return { element, dispose: () => controller.abort() };
}
