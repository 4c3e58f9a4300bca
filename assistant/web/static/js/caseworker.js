// Caseworker views: new assessment → needs and matches with reasons → editable draft plan → confirm →
// referrals and follow-ups; the case list; the chat pane beside every case.

import { api, ApiError } from "./api.js";
import { banner, fmtDate, fmtDay, h, mount, select, spinner } from "./dom.js";
import { chatPane } from "./chat.js";

const REFERRAL_LABELS = { pending: "待接单", accepted: "已接单", in_service: "服务中", completed: "已完成", declined: "已退回", cancelled: "已取消" };
const REFERRAL_KIND = { pending: "warn", accepted: "", in_service: "", completed: "ok", declined: "muted", cancelled: "muted" };
const REASONS = [
  ["not_eligible", "不符合服务条件"],
  ["no_capacity", "名额不足"],
  ["couldnt_contact", "无法联系"],
  ["no_longer_interested", "本人不再需要"],
  ["referred_elsewhere", "已转介其他机构"],
];
const CASE_KIND = { open: "warn", drafted: "warn", planned: "", in_service: "ok", closed: "muted" };
const EDITABLE = ["draft", "edited"];
const EXAMPLE =
  "例：王奶奶，78岁，独居在阳新县富池镇，低保对象。老伴去世后不会做饭，经常吃剩饭剩菜；腿脚不便，已经一个多月没洗澡；儿子在外地打工，很少回来，老人说晚上一个人很害怕。";

const short = (label) => label.replace(/（.*）|\(.*\)/, "");

function groupChecks(ctx, name, chosen = []) {
  return h(
    "div",
    { class: "checks", role: "group", "aria-label": "救助对象" },
    ctx.taxonomy.groups.map((g) => h("label", { class: "check" }, h("input", { type: "checkbox", name, value: g.code, checked: chosen.includes(g.code) }), g.label)),
  );
}

function personText(ctx, age, groups) {
  const parts = [];
  if (age != null) parts.push(`${age}岁`);
  if (groups && groups.length) parts.push(groups.map((g) => ctx.label.group(g)).join("、"));
  return parts.join("，") || "未填写年龄和对象类别";
}

// -- new assessment ----------------------------------------------------------------------------------------

export async function newCaseView(view, _params, ctx) {
  const tax = ctx.taxonomy;
  const counties = tax.areas.filter((a) => !a.citywide);
  const county = select(counties.map((a) => [a.code, a.label]), ctx.me.citywide ? "" : ctx.me.county, { name: "county", id: "county", required: true, disabled: !ctx.me.citywide });
  if (ctx.me.citywide) county.prepend(h("option", { value: "", selected: true }, "请选择区县"));
  const text = h("textarea", { name: "text", id: "assessment", rows: 9, placeholder: EXAMPLE, required: true });
  const age = h("input", { type: "number", name: "age", id: "age", min: 0, max: 130, placeholder: "岁" });
  const name = h("input", { type: "text", name: "name", placeholder: "可选，仅用于脱敏" });
  const members = h("div", { id: "members" });
  const status = h("div", { id: "new-case-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "submit-assessment" }, "识别需求并匹配资源");

  function addMember() {
    const row = h(
      "div",
      { class: "member-row" },
      h("input", { type: "text", name: "relation", placeholder: "关系，如 孙子", "aria-label": "关系" }),
      h("input", { type: "number", name: "member_age", min: 0, max: 130, placeholder: "年龄", "aria-label": "年龄" }),
      groupChecks(ctx, "member_groups"),
      h("button", { type: "button", class: "btn btn-sm btn-ghost", title: "删除该成员", onclick: () => row.remove() }, "✕"),
    );
    members.append(row);
  }

  async function onSubmit(event) {
    event.preventDefault();
    const form = event.target;
    const payload = {
      text: text.value.trim(),
      county: county.value,
      groups: [...form.querySelectorAll('.applicant-groups input:checked')].map((b) => b.value),
      age: age.value === "" ? null : Number(age.value),
      name: name.value.trim() || null,
      members: [...members.querySelectorAll(".member-row")]
        .map((row) => ({
          relation: row.querySelector("[name=relation]").value.trim(),
          age: row.querySelector("[name=member_age]").value === "" ? null : Number(row.querySelector("[name=member_age]").value),
          groups: [...row.querySelectorAll("input[name=member_groups]:checked")].map((b) => b.value),
        }))
        .filter((m) => m.relation),
    };
    if (!payload.text) return mount(status, banner("warn", "请填写需求评估内容。"));
    if (!payload.county) return mount(status, banner("warn", "请选择申请人所在区县。"));
    submit.disabled = true;
    try {
      mount(status, spinner("正在建立个案…"));
      const created = await api("/api/cases", { method: "POST", json: payload });
      mount(status, spinner("正在识别需求、匹配资源、起草服务方案…"));
      await api(`/api/cases/${encodeURIComponent(created.id)}/plan`, { method: "POST" });
      ctx.go(`cases/${encodeURIComponent(created.id)}`);
    } catch (err) {
      submit.disabled = false;
      mount(status, banner("error", err.message));
    }
  }

  mount(
    view,
    h("div", { class: "page-head" }, h("h2", {}, "新建需求评估")),
    h(
      "form",
      { class: "assessment-form", onsubmit: onSubmit },
      status,
      h(
        "div",
        { class: "assessment-grid" },
        h(
          "section",
          { class: "panel" },
          h("label", { class: "field", for: "assessment" }, h("span", { class: "field-label" }, "需求评估（入户了解到的情况，照实写）"), text),
          h("small", { class: "hint" }, "身份证号、电话、银行卡号会自动脱敏；评估文字只作为资料，不会被当作指令执行。"),
          h("div", { class: "grid grid-2", style: { marginTop: "10px" } }, h("label", { class: "field" }, h("span", { class: "field-label" }, "申请人姓名"), name)),
          h("div", { class: "panel-head", style: { marginTop: "6px" } }, h("h3", {}, "家庭成员（需要服务的其他人，可选）"), h("button", { type: "button", class: "btn btn-sm", onclick: addMember }, "＋ 添加成员")),
          members,
        ),
        h(
          "section",
          { class: "panel" },
          h("h3", {}, "申请人"),
          h("div", { class: "grid grid-2" }, h("label", { class: "field" }, h("span", { class: "field-label" }, "所在区县"), county), h("label", { class: "field" }, h("span", { class: "field-label" }, "年龄"), age)),
          h("div", { class: "field applicant-groups" }, h("span", { class: "field-label" }, "救助对象类别"), groupChecks(ctx, "groups")),
          h("div", { class: "form-actions", style: { marginTop: "14px" } }, submit),
          h("small", { class: "hint" }, "提交后系统会识别需求、按资格筛选并匹配本区县及全市的服务资源，起草方案供您修改确认。确认前不会通知任何服务机构。"),
        ),
      ),
    ),
  );
  text.focus();
}

// -- case list ---------------------------------------------------------------------------------------------

export async function caseListView(view, _params, ctx) {
  const statusFilter = select([["", "全部状态"], ["open", "待制定方案"], ["drafted", "方案待确认"], ["planned", "方案已确认"], ["in_service", "服务中"], ["closed", "已结案"]], "", { "aria-label": "个案状态" });
  const table = h("div", { class: "table-wrap" });
  const followups = h("div", { id: "followups" });

  async function load() {
    mount(table, spinner());
    try {
      const page = await api("/api/cases", { query: { status: statusFilter.value, limit: 100 } });
      if (!page.items.length) {
        mount(table, h("p", { class: "empty", style: { padding: "16px" } }, "暂无个案。", h("a", { href: "#/cases/new" }, "新建需求评估")));
        return;
      }
      mount(
        table,
        h(
          "table",
          { class: "table", id: "case-table" },
          h("thead", {}, h("tr", {}, ["编号", "建立时间", "区县", "申请人", "评估摘要", "状态", "经办人"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            page.items.map((c) =>
              h(
                "tr",
                { class: "clickable", onclick: () => ctx.go(`cases/${encodeURIComponent(c.id)}`) },
                h("td", { class: "mono nowrap" }, h("a", { href: `#/cases/${encodeURIComponent(c.id)}` }, c.id)),
                h("td", { class: "nowrap" }, fmtDate(c.created_at)),
                h("td", { class: "nowrap" }, c.county_label),
                h("td", {}, personText(ctx, c.age, c.groups)),
                h("td", { class: "clip", style: { maxWidth: "380px" } }, c.text),
                h("td", {}, h("span", { class: `tag tag-${CASE_KIND[c.status] || ""}` }, c.status_label)),
                h("td", { class: "nowrap" }, c.caseworker),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      mount(table, banner("error", err.message));
    }
  }

  async function loadFollowups() {
    try {
      const page = await api("/api/followups", { query: { status: "open", limit: 20 } });
      mount(
        followups,
        page.items.length
          ? h("ul", { class: "plan-followups" }, page.items.map((f) => h("li", {}, h("span", { class: `tag ${f.overdue ? "tag-error" : "tag-warn"}` }, f.overdue ? "已逾期" : fmtDay(f.due_date)), " ", h("a", { href: `#/cases/${encodeURIComponent(f.case_id)}` }, f.case_id), `：${f.method}，${f.focus}`)))
          : h("p", { class: "muted" }, "没有待办回访。"),
      );
    } catch (err) {
      mount(followups, banner("error", err.message));
    }
  }

  statusFilter.addEventListener("change", load);
  mount(
    view,
    h("div", { class: "page-head" }, h("h2", {}, "个案列表"), h("div", { class: "actions" }, statusFilter, h("a", { class: "btn btn-primary", href: "#/cases/new" }, "＋ 新建需求评估"))),
    h("section", { class: "panel" }, h("h3", {}, "我的待办回访"), followups),
    table,
  );
  await Promise.all([load(), loadFollowups()]);
}

// -- one case ----------------------------------------------------------------------------------------------

export async function caseView(view, params, ctx) {
  const caseId = params[0];
  const state = { case: null, plan: null, items: [], dirty: false, notice: null };
  const main = h("div", { class: "case-main" });
  const chatBox = h("aside", { class: "chat-column" });
  const expanded = new Set();
  mount(view, h("div", { class: "case-layout" }, main, chatBox));
  mount(main, spinner());

  async function load() {
    state.case = await api(`/api/cases/${encodeURIComponent(caseId)}`);
    const current = [...state.case.plans].reverse().find((p) => ["draft", "edited", "confirmed"].includes(p.status));
    state.plan = current ? await api(`/api/plans/${encodeURIComponent(current.id)}`) : null;
    state.items = state.plan ? state.plan.items.map((i) => ({ ...i })) : [];
    state.dirty = false;
    render();
  }

  async function reloadPlan(message) {
    try {
      await load();
      if (message) document.getElementById("plan-status")?.replaceChildren(message);
    } catch (err) {
      mount(main, banner("error", err.message));
    }
  }

  function render() {
    const c = state.case;
    const editable = state.plan && EDITABLE.includes(state.plan.status);
    mount(
      main,
      h(
        "div",
        { class: "page-head" },
        h("h2", {}, "个案 ", h("span", { class: "mono", id: "case-id" }, c.id), " ", h("span", { class: `tag tag-${CASE_KIND[c.status] || ""}`, id: "case-status" }, c.status_label)),
        h(
          "div",
          { class: "actions" },
          c.status !== "closed" && (!state.plan || editable)
            ? h("button", { class: "btn btn-sm", id: "redraft", onclick: redraft }, state.plan ? "重新匹配并起草" : "匹配资源并起草方案")
            : null,
        ),
      ),
      h(
        "section",
        { class: "panel" },
        h(
          "div",
          { class: "case-meta" },
          h("span", {}, `区县：${c.county_label}`),
          h("span", {}, `申请人：${personText(ctx, c.age, c.groups)}`),
          c.members.length ? h("span", {}, `家庭成员：${c.members.map((m) => `${m.relation}（${personText(ctx, m.age, m.groups)}）`).join("；")}`) : null,
          h("span", {}, `经办：${c.caseworker}`),
          h("span", {}, `建立：${fmtDate(c.created_at)}`),
        ),
        h("p", { class: "assessment-text", id: "assessment-text" }, c.text),
      ),
      h("div", { id: "case-notice" }, state.notice),
      ...(state.plan ? sections(editable) : [banner("info", "该个案还没有服务方案。点击右上角“匹配资源并起草方案”。")]),
    );
  }

  // While the plan is a draft, the candidates come first; once confirmed, the referrals do.
  function sections(editable) {
    const referrals = state.case.referrals.length ? referralsPanel() : null;
    const followups = state.plan.follow_up_tasks && state.plan.follow_up_tasks.length ? followupsPanel() : null;
    if (editable) return [needsPanel(true), planPanel(), referrals, followups];
    return [referrals, followups, planPanel(), needsPanel(false)];
  }

  async function redraft() {
    if (state.plan && !window.confirm("重新匹配会按当前资源目录重新起草方案，未确认的方案将被取代。继续吗？")) return;
    mount(main, spinner("正在识别需求、匹配资源、起草服务方案…"));
    try {
      await api(`/api/cases/${encodeURIComponent(caseId)}/plan`, { method: "POST" });
      await load();
    } catch (err) {
      mount(main, banner("error", err.message));
    }
  }

  // needs and matches
  function needsPanel(open) {
    const plan = state.plan;
    const inPlan = new Set(state.items.map((i) => i.resource_id));
    const editable = EDITABLE.includes(plan.status);
    const shown = (need) => {
      if (expanded.has(need.category)) return need.matches;
      const first = need.matches.slice(0, 2);
      // Keep what is in the plan visible even when it ranked lower.
      return [...first, ...need.matches.slice(2).filter((m) => inPlan.has(m.resource_id))];
    };
    const summary = plan.matches.map((n) => short(ctx.label.category(n.category))).join("、");
    return h(
      "details",
      { class: "panel", id: "needs", open },
      h("summary", { class: "panel-head" }, h("h3", {}, `识别的需求与匹配资源（${plan.matches.length} 项需求：${summary || "无"}）`)),
      plan.matches.map((need) =>
        h(
          "div",
          { class: "need", dataset: { category: need.category } },
          h(
            "div",
            { class: "need-head" },
            h("span", { class: "tag" }, short(ctx.label.category(need.category))),
            need.person && need.person.relation && need.person.relation !== "申请人" ? h("span", { class: "tag tag-muted" }, `为${need.person.relation}`) : null,
            h("span", { class: "quote", title: need.text }, `“${need.text}”`),
          ),
          need.matches.length
            ? h(
                "div",
                { class: "matches" },
                shown(need).map((m) =>
                  h(
                    "div",
                    { class: ["match", inPlan.has(m.resource_id) && "in-plan"], dataset: { resource: m.resource_id } },
                    h("div", { class: "match-title" }, h("span", {}, m.name), h("span", { class: "score", title: "匹配得分" }, m.score.toFixed(3))),
                    h("div", { class: "mono muted" }, m.resource_id, m.organization ? ` · ${m.organization}` : ""),
                    // The first reason quotes the assessment, which the need's header already shows.
                    h("ul", { class: "reasons" }, (m.reasons || []).filter((r, i) => i > 0 || !r.startsWith("评估中")).slice(0, 4).map((r) => h("li", {}, r))),
                    h("div", { class: "facts" }, [m.schedule_description, m.capacity_available != null ? `余 ${m.capacity_available} 个名额` : null].filter(Boolean).join(" · ")),
                    h(
                      "div",
                      { style: { marginTop: "6px" } },
                      inPlan.has(m.resource_id)
                        ? h("span", { class: "tag tag-ok" }, "已在方案中")
                        : editable
                          ? h("button", { class: "btn btn-sm add-to-plan", onclick: () => addItem(need, m) }, "＋ 加入方案")
                          : null,
                    ),
                  ),
                ),
              )
            : h("p", { class: "muted", style: { padding: "6px 10px" } }, "没有符合条件的资源。"),
          need.matches.length > shown(need).length || expanded.has(need.category)
            ? h(
                "button",
                {
                  type: "button",
                  class: "btn btn-sm btn-ghost more",
                  onclick: () => {
                    if (expanded.has(need.category)) expanded.delete(need.category);
                    else expanded.add(need.category);
                    render();
                  },
                },
                expanded.has(need.category) ? "收起" : `显示其余 ${need.matches.length - shown(need).length} 项候选`,
              )
            : null,
        ),
      ),
      plan.match_unmet.length
        ? h("div", {}, h("h3", { style: { marginTop: "10px" } }, "未找到合适资源的需求"), plan.match_unmet.map((u) => h("div", { class: "unmet" }, h("strong", {}, short(ctx.label.category(u.category))), `：${u.reason}（“${u.text}”）`)))
        : null,
    );
  }

  function addItem(need, match) {
    state.items.push({
      need: need.text,
      category: need.category,
      resource_id: match.resource_id,
      resource_name: match.name,
      action: short(ctx.label.category(need.category)),
      frequency: "",
      duration: "",
      responsible: match.organization || "",
      start: "",
      notes: "",
    });
    state.dirty = true;
    render();
    document.getElementById("plan-status")?.replaceChildren(banner("info", `已加入“${match.name}”，请保存修改。`));
  }

  // draft plan
  function planPanel() {
    const plan = state.plan;
    const editable = EDITABLE.includes(plan.status);
    const candidates = (category) => {
      const list = [];
      for (const need of plan.matches) if (need.category === category) for (const m of need.matches) if (!list.find((x) => x.resource_id === m.resource_id)) list.push(m);
      return list;
    };
    const author = plan.author === "offline" ? "离线规则生成（非大模型撰写）" : `大模型 ${plan.author}`;
    const input = (item, key, placeholder) =>
      h("input", { type: "text", value: item[key] || "", placeholder, disabled: !editable, oninput: (e) => { item[key] = e.target.value; markDirty(); } });
    return h(
      "section",
      { class: "panel", id: "plan" },
      h(
        "div",
        { class: "panel-head" },
        h("h3", {}, `服务方案 · 第 ${plan.version} 版 `, h("span", { class: `tag ${plan.status === "confirmed" ? "tag-ok" : "tag-warn"}`, id: "plan-state" }, plan.status_label)),
        h("span", { class: "offline-note" }, `撰写方式：${author}`),
      ),
      h("div", { id: "plan-status" }),
      plan.summary ? h("p", { class: "muted" }, plan.summary) : null,
      plan.goals.length ? h("div", {}, h("strong", {}, "服务目标"), h("ul", { class: "plan-goals" }, plan.goals.map((g) => h("li", {}, g)))) : null,
      h("strong", {}, `服务条目（${state.items.length}）`),
      editable ? null : readonlyItems(),
      h(
        "div",
        { id: "plan-items", hidden: !editable },
        state.items.length
          ? state.items.map((item, index) => {
              const options = candidates(item.category);
              if (!options.find((o) => o.resource_id === item.resource_id)) options.unshift({ resource_id: item.resource_id, name: item.resource_name || item.resource_id });
              return h(
                "div",
                { class: "plan-item", dataset: { resource: item.resource_id } },
                h("div", { class: "need-cell" }, h("span", { class: "tag" }, short(ctx.label.category(item.category))), h("span", { class: "muted" }, `需求：${item.need}`)),
                h(
                  "label",
                  { class: "field" },
                  h("span", { class: "field-label" }, "服务资源"),
                  select(options.map((o) => [o.resource_id, `${o.name}（${o.resource_id}）`]), item.resource_id, {
                    class: "item-resource",
                    disabled: !editable,
                    onchange: (e) => {
                      const chosen = options.find((o) => o.resource_id === e.target.value);
                      item.resource_id = chosen.resource_id;
                      item.resource_name = chosen.name;
                      if (chosen.organization) item.responsible = chosen.organization;
                      markDirty();
                    },
                  }),
                ),
                h("label", { class: "field" }, h("span", { class: "field-label" }, "服务内容"), input(item, "action", "如 送餐上门")),
                h("label", { class: "field" }, h("span", { class: "field-label" }, "频次"), input(item, "frequency", "如 每周2次")),
                h("label", { class: "field" }, h("span", { class: "field-label" }, "期限"), input(item, "duration", "如 3个月")),
                editable ? h("button", { type: "button", class: "btn btn-sm btn-danger remove-item", title: "删除条目", onclick: () => { state.items.splice(index, 1); state.dirty = true; render(); } }, "删除") : h("span"),
              );
            })
          : h("p", { class: "muted" }, "方案中还没有服务条目，可在上方匹配结果中“加入方案”。"),
      ),
      plan.follow_ups.length ? h("div", {}, h("strong", {}, "回访安排"), h("ul", { class: "plan-followups" }, plan.follow_ups.map((f) => h("li", {}, `${f.due_in_days} 天后 ${f.method}：${f.focus}${f.success_criteria ? `（成效标准：${f.success_criteria}）` : ""}`)))) : null,
      plan.unmet.length ? h("div", {}, h("strong", {}, "暂无资源的需求与下一步"), h("ul", {}, plan.unmet.map((u) => h("li", {}, `${short(ctx.label.category(u.category))}：${u.reason}${u.next_steps.length ? "；" + u.next_steps.join("；") : ""}`)))) : null,
      editable
        ? h(
            "div",
            { class: "plan-footer" },
            h("button", { class: "btn", id: "save-plan", onclick: savePlan }, "保存修改"),
            h("button", { class: "btn btn-primary", id: "confirm-plan", onclick: confirmPlan }, "确认方案并生成转介工单"),
            h("span", { class: "hint", id: "dirty-note" }, state.dirty ? "有未保存的修改" : "确认前不会通知任何服务机构"),
          )
        : h("p", { class: "muted" }, plan.decided_by ? `${plan.decided_by} 于 ${fmtDate(plan.decided_at)} ${plan.status_label}。` : ""),
    );
  }

  function readonlyItems() {
    return h(
      "table",
      { class: "table table-compact", id: "plan-table" },
      h("thead", {}, h("tr", {}, ["类别", "服务资源", "服务内容", "频次", "期限", "需求"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        state.items.map((i) =>
          h(
            "tr",
            {},
            h("td", { class: "nowrap" }, short(ctx.label.category(i.category))),
            h("td", {}, i.resource_name, h("div", { class: "sub mono" }, i.resource_id)),
            h("td", {}, i.action),
            h("td", {}, i.frequency),
            h("td", {}, i.duration),
            h("td", { class: "muted" }, i.need),
          ),
        ),
      ),
    );
  }

  function markDirty() {
    state.dirty = true;
    const note = document.getElementById("dirty-note");
    if (note) note.textContent = "有未保存的修改";
  }

  async function savePlan() {
    const status = document.getElementById("plan-status");
    mount(status, spinner("正在保存…"));
    try {
      state.plan = await api(`/api/plans/${encodeURIComponent(state.plan.id)}`, { method: "PUT", json: { base_version: state.plan.version, items: state.items, notes: "工作台编辑" } });
      state.items = state.plan.items.map((i) => ({ ...i }));
      state.dirty = false;
      render();
      mount(document.getElementById("plan-status"), banner("ok", `已保存为第 ${state.plan.version} 版。`));
      return true;
    } catch (err) {
      mount(status, planError(err));
      return false;
    }
  }

  function planError(err) {
    if (err instanceof ApiError && err.status === 409) {
      return banner("error", err.message, h("div", { class: "banner-actions" }, h("button", { class: "btn btn-sm", onclick: () => reloadPlan() }, "载入最新方案（放弃我的修改）")));
    }
    const items = (err.body && (err.body.items || err.body.invalid)) || [];
    return banner("error", err.message, items.length ? h("ul", {}, items.map((p) => h("li", {}, p.message))) : null);
  }

  async function confirmPlan() {
    if (state.dirty && !(await savePlan())) return;
    if (!window.confirm(`确认方案第 ${state.plan.version} 版？确认后将为 ${state.items.length} 个条目生成转介工单并预留名额。`)) return;
    const status = document.getElementById("plan-status");
    mount(status, spinner("正在确认方案、生成工单…"));
    try {
      const confirmed = await api(`/api/plans/${encodeURIComponent(state.plan.id)}/confirm`, { method: "POST", json: { version: state.plan.version } });
      const skipped = confirmed.skipped || [];
      state.notice = banner(
        "ok",
        `方案第 ${confirmed.version} 版已确认，生成 ${confirmed.referrals.length} 张转介工单，已预留名额并安排回访。`,
        skipped.length ? `跳过 ${skipped.length} 个失效条目。` : "",
      );
      await load();
      window.scrollTo({ top: 0 });
    } catch (err) {
      mount(status, planError(err));
    }
  }

  // referrals and follow-ups
  function referralsPanel() {
    return h(
      "section",
      { class: "panel", id: "referrals" },
      h("h3", {}, `转介工单（${state.case.referrals.length}）`),
      h(
        "div",
        { class: "table-scroll" },
        h(
        "table",
        { class: "table table-compact", id: "referral-table" },
        h("thead", {}, h("tr", {}, ["服务资源 / 工单", "类别", "服务对象", "状态", "更新时间", "操作"].map((t) => h("th", {}, t)))),
        h("tbody", {}, state.case.referrals.map(referralRow)),
        ),
      ),
    );
  }

  function referralRow(r) {
    const next = select([["", "改为…"], ...r.allowed_next.map((s) => [s, REFERRAL_LABELS[s] || s])], "", { class: "referral-status", "aria-label": "新状态" });
    const reason = select([["", "原因…"], ...REASONS], "", { class: "referral-status", "aria-label": "原因", hidden: true });
    next.addEventListener("change", () => (reason.hidden = !["declined", "cancelled"].includes(next.value)));
    const apply = h("button", {
      class: "btn btn-sm",
      onclick: async () => {
        if (!next.value) return;
        try {
          const updated = await api(`/api/referrals/${encodeURIComponent(r.id)}/status`, { method: "POST", json: { status: next.value, reason_code: reason.value || null } });
          state.notice = banner("ok", `工单 ${updated.id}（${updated.resource_name}）已改为“${updated.status_label}”。`);
          await load();
        } catch (err) {
          alert(err.message);
        }
      },
    }, "更新");
    return h(
      "tr",
      { dataset: { referral: r.id } },
      h("td", {}, h("a", { href: `#/catalog/${encodeURIComponent(r.resource_id)}` }, r.resource_name), h("div", { class: "sub mono" }, `${r.resource_id} · 工单 ${r.id}`)),
      h("td", { class: "nowrap" }, short(r.category_label)),
      h("td", { class: "nowrap" }, r.person_relation),
      h("td", {}, h("span", { class: `tag tag-${REFERRAL_KIND[r.status] ?? ""} referral-state` }, r.status_label), r.reason_label ? h("div", { class: "sub" }, r.reason_label) : null),
      h("td", { class: "nowrap" }, fmtDate(r.updated_at).slice(5)),
      h("td", { class: "nowrap" }, r.allowed_next.length ? [next, reason, apply] : h("span", { class: "muted" }, "已结束")),
    );
  }

  function followupsPanel() {
    const tasks = state.plan.follow_up_tasks;
    return h(
      "section",
      { class: "panel", id: "followup-tasks" },
      h("h3", {}, `回访任务（${tasks.length}）`),
      h(
        "table",
        { class: "table table-compact" },
        h("thead", {}, h("tr", {}, ["到期日", "方式", "回访重点", "状态", ""].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          tasks.map((t) =>
            h(
              "tr",
              {},
              h("td", { class: "nowrap" }, fmtDay(t.due_date), t.overdue ? h("span", { class: "tag tag-error" }, "逾期") : null),
              h("td", { class: "nowrap" }, t.method),
              h("td", {}, t.focus),
              h("td", { class: "nowrap" }, t.status === "open" ? "待回访" : t.status === "done" ? `已完成（${t.done_by}）` : "已取消"),
              h("td", {}, t.status === "open" ? h("button", { class: "btn btn-sm", onclick: () => completeFollowup(t) }, "记录回访") : t.note),
            ),
          ),
        ),
      ),
    );
  }

  async function completeFollowup(task) {
    const note = window.prompt("回访记录（服务是否到位、对象反馈）：", "");
    if (note === null) return;
    try {
      await api(`/api/followups/${encodeURIComponent(task.id)}/done`, { method: "POST", json: { note } });
      state.notice = banner("ok", "回访已记录。");
      await load();
    } catch (err) {
      alert(err.message);
    }
  }

  try {
    await load();
  } catch (err) {
    mount(main, banner("error", err.message), h("a", { href: "#/cases" }, "返回个案列表"));
    return;
  }
  const chat = chatPane(caseId, {
    onPlanChanged: () =>
      reloadPlan(
        state.dirty
          ? banner("warn", "助手已按对话修改方案并保存为新版本；您在页面上未保存的修改已被新版本取代。")
          : banner("ok", "助手已按对话修改方案，已刷新为最新版本。"),
      ),
  });
  mount(chatBox, chat.element);
  return chat.dispose;
}
