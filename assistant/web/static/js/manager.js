// Resource manager views: catalog table with filters, edit form (optimistic concurrency), Excel import with
// row errors, and the unmet-need (资源缺口) report with a hand-drawn SVG chart.

import { api, ApiError, download } from "./api.js";
import { banner, fmtDate, fmtDay, h, mount, select, spinner } from "./dom.js";
import { barChart } from "./chart.js";

export const FIELD_LABELS = {
  id: "编号",
  name: "名称",
  description: "服务内容",
  organization: "服务机构",
  brand: "品牌",
  categories: "服务类别",
  service_areas: "服务区域",
  target_groups: "救助对象",
  minimum_age: "最小年龄",
  maximum_age: "最大年龄",
  eligibility_description: "申请条件",
  status: "状态",
  capacity: "名额",
  capacity_available: "可用名额",
  capacity_maximum: "总名额",
  cost_description: "收费说明",
  schedule_description: "服务时间",
  address: "地址",
  phone: "联系电话",
  assured_date: "核实日期",
  _row: "整行",
};

const PAGE = 50;
// Kept across views so that returning from the edit form shows the same filtered page.
const filters = { area: "", category: "", group: "", status: "", q: "", offset: 0 };

function statusTag(ctx, status) {
  const kind = { active: "ok", "temporarily closed": "warn", inactive: "muted", defunct: "muted" }[status] || "muted";
  return h("span", { class: `tag tag-${kind}` }, ctx.label.status(status));
}

function capacityText(capacity) {
  if (!capacity || (capacity.available == null && capacity.maximum == null)) return "不限";
  return `${capacity.available ?? "?"} / ${capacity.maximum ?? "?"}`;
}

function ageText(r) {
  if (r.minimum_age == null && r.maximum_age == null) return "不限";
  if (r.maximum_age == null) return `${r.minimum_age}岁以上`;
  if (r.minimum_age == null) return `${r.maximum_age}岁以下`;
  return `${r.minimum_age}–${r.maximum_age}岁`;
}

let filtersFor = null;

export async function catalogView(view, _params, ctx) {
  const tax = ctx.taxonomy;
  if (filtersFor !== ctx.me.id) {
    // A county manager starts on their own county; the filter can be cleared to see the whole city.
    Object.assign(filters, { area: ctx.me.citywide ? "" : ctx.me.county, category: "", group: "", status: "", q: "", offset: 0 });
    filtersFor = ctx.me.id;
  }
  const canEdit = ctx.can("resource_manager", "admin");
  const controls = {
    area: select([["", "全部区域"], ...tax.areas.map((a) => [a.code, a.label])], filters.area, { name: "area", "aria-label": "服务区域" }),
    category: select([["", "全部类别"], ...tax.categories.map((c) => [c.code, c.label])], filters.category, { name: "category", "aria-label": "服务类别" }),
    group: select([["", "全部对象"], ...tax.groups.map((g) => [g.code, g.label])], filters.group, { name: "group", "aria-label": "救助对象" }),
    status: select([["", "全部状态"], ...tax.statuses.map((s) => [s.code, s.label])], filters.status, { name: "status", "aria-label": "状态" }),
    q: h("input", { type: "search", name: "q", value: filters.q, placeholder: "名称 / 机构 / 编号 / 地址", "aria-label": "关键词" }),
  };
  const results = h("div", { class: "table-wrap" });
  const summary = h("span", { class: "muted", id: "catalog-total" });
  const pager = h("div", { class: "pager" });

  async function load() {
    mount(results, spinner());
    try {
      const page = await api("/api/resources", { query: { ...filters, limit: PAGE } });
      renderTable(page);
    } catch (err) {
      mount(results, banner("error", err.message));
    }
  }

  function renderTable(page) {
    summary.textContent = `共 ${page.total} 条`;
    if (!page.items.length) {
      mount(results, h("p", { class: "empty" }, "没有符合条件的资源。"));
    } else {
      mount(
        results,
        h(
          "table",
          { class: "table", id: "catalog-table" },
          h("thead", {}, h("tr", {}, ["编号", "名称 / 服务机构", "服务类别", "服务区域", "救助对象", "年龄", "状态", "名额(余/总)", "核实日期"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            page.items.map((r) =>
              h(
                "tr",
                { class: "clickable", dataset: { id: r.id }, onclick: () => ctx.go(`catalog/${encodeURIComponent(r.id)}`) },
                h("td", { class: "mono nowrap" }, r.id),
                h("td", {}, h("a", { href: `#/catalog/${encodeURIComponent(r.id)}`, class: "strong" }, r.name), h("div", { class: "sub" }, r.organization)),
                h("td", {}, r.categories.map((c) => h("span", { class: "chip" }, ctx.label.category(c)))),
                h("td", {}, r.service_areas.map((a) => ctx.label.area(a)).join("、")),
                h("td", {}, r.target_groups.length ? r.target_groups.map((g) => ctx.label.group(g)).join("、") : h("span", { class: "muted" }, "不限")),
                h("td", { class: "nowrap" }, ageText(r)),
                h("td", {}, statusTag(ctx, r.status)),
                h("td", { class: "num" }, capacityText(r.capacity)),
                h("td", { class: "nowrap" }, fmtDay(r.assured_date)),
              ),
            ),
          ),
        ),
      );
    }
    const from = page.total ? page.offset + 1 : 0;
    const to = Math.min(page.offset + page.items.length, page.total);
    mount(
      pager,
      h("span", {}, `第 ${from}–${to} 条，共 ${page.total} 条`),
      h("button", { class: "btn btn-sm", disabled: page.offset === 0, onclick: () => { filters.offset = Math.max(0, filters.offset - PAGE); load(); } }, "上一页"),
      h("button", { class: "btn btn-sm", disabled: to >= page.total, onclick: () => { filters.offset += PAGE; load(); } }, "下一页"),
    );
  }

  function apply(event) {
    event?.preventDefault();
    for (const [key, control] of Object.entries(controls)) filters[key] = control.value.trim();
    filters.offset = 0;
    load();
  }

  for (const key of ["area", "category", "group", "status"]) controls[key].addEventListener("change", apply);
  const exportQuery = () => ({ area: filters.area, category: filters.category, group: filters.group, status: filters.status, q: filters.q });
  const exporter = (fmt) =>
    h("button", { class: "btn btn-sm", onclick: () => download("/api/resources/export", { ...exportQuery(), format: fmt }, `黄石资源目录.${fmt}`).catch((e) => alert(e.message)) }, fmt.toUpperCase());

  mount(
    view,
    h(
      "div",
      { class: "page-head" },
      h("h2", {}, "资源目录 ", summary),
      h(
        "div",
        { class: "actions" },
        h("span", { class: "muted" }, "导出："),
        exporter("xlsx"),
        exporter("csv"),
        exporter("json"),
        canEdit ? h("a", { class: "btn btn-primary", href: "#/catalog/new", id: "new-resource" }, "＋ 新增资源") : null,
      ),
    ),
    h(
      "form",
      { class: "filters", onsubmit: apply },
      controls.area,
      controls.category,
      controls.group,
      controls.status,
      controls.q,
      h("button", { type: "submit", class: "btn" }, "查询"),
      h("button", {
        type: "button",
        class: "btn btn-ghost",
        onclick: () => {
          for (const [key, control] of Object.entries(controls)) control.value = "";
          apply();
        },
      }, "清除筛选"),
    ),
    results,
    pager,
  );
  await load();
}

// -- edit form ---------------------------------------------------------------------------------------------

function checks(name, options, chosen, disabled) {
  const set = new Set(chosen || []);
  return h(
    "div",
    { class: "checks", role: "group", "aria-label": FIELD_LABELS[name], dataset: { field: name } },
    options.map(([code, label]) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name, value: code, checked: set.has(code), disabled }), label),
    ),
  );
}

const emptyResource = (ctx) => ({
  id: "",
  name: "",
  description: "",
  organization: "",
  brand: "",
  categories: [],
  service_areas: ctx.me.citywide ? [] : [ctx.me.county],
  target_groups: [],
  minimum_age: null,
  maximum_age: null,
  eligibility_description: "",
  status: "active",
  capacity: { available: null, maximum: null },
  cost_description: "",
  schedule_description: "",
  address: "",
  phone: "",
  assured_date: new Date().toISOString().slice(0, 10),
});

export async function resourceEditView(view, params, ctx) {
  const id = params[0];
  const isNew = !id;
  const canEdit = ctx.can("resource_manager", "admin");
  mount(view, spinner());
  let resource;
  try {
    resource = isNew ? emptyResource(ctx) : await api(`/api/resources/${encodeURIComponent(id)}`);
  } catch (err) {
    mount(view, banner("error", err.message), h("a", { href: "#/catalog" }, "返回资源目录"));
    return;
  }
  renderForm(view, ctx, resource, isNew, canEdit);
}

function renderForm(view, ctx, resource, isNew, canEdit, message = null) {
  const tax = ctx.taxonomy;
  const ro = !canEdit;
  const text = (name, attrs = {}) => h("input", { type: "text", name, value: resource[name] ?? "", disabled: ro || (name === "id" && !isNew), ...attrs });
  const area = (name, rows = 3) => h("textarea", { name, rows, disabled: ro }, resource[name] ?? "");
  const num = (name, value) => h("input", { type: "number", min: 0, max: name.endsWith("age") ? 120 : undefined, name, value: value ?? "", disabled: ro });
  const status = h("div", { id: "form-status" }, message);
  const f = (name, control, wide) => h("label", { class: ["field", wide && "wide"], dataset: { field: name } }, h("span", { class: "field-label" }, FIELD_LABELS[name]), control);

  const form = h(
    "form",
    { class: "resource-form", id: "resource-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    h(
      "fieldset",
      {},
      h("legend", {}, "基本信息"),
      h("div", { class: "grid grid-4" }, f("id", text("id", { placeholder: "如 yx-meal-010", pattern: "[A-Za-z0-9][A-Za-z0-9_.-]*" })), f("name", text("name"), true), f("brand", text("brand"))),
      h("div", { class: "grid grid-2" }, f("organization", text("organization")), f("address", text("address"))),
      f("description", area("description"), true),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "类别、区域与对象"),
      f("categories", checks("categories", tax.categories.map((c) => [c.code, c.label.replace(/（.*）|\(.*\)/, "")]), resource.categories, ro), true),
      h(
        "div",
        { class: "grid grid-2" },
        f("service_areas", checks("service_areas", tax.areas.map((a) => [a.code, a.label]), resource.service_areas, ro)),
        f("target_groups", checks("target_groups", tax.groups.map((g) => [g.code, g.label]), resource.target_groups, ro)),
      ),
      h("small", { class: "hint" }, "救助对象不选表示面向所有人；服务类别第一个为主类别（按勾选顺序）。"),
      h("div", { class: "grid grid-4" }, f("minimum_age", num("minimum_age", resource.minimum_age)), f("maximum_age", num("maximum_age", resource.maximum_age))),
      f("eligibility_description", area("eligibility_description", 2), true),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "服务安排与名额"),
      h(
        "div",
        { class: "grid grid-4" },
        f("status", select(tax.statuses.map((s) => [s.code, s.label]), resource.status, { name: "status", disabled: ro })),
        f("capacity_available", num("capacity_available", resource.capacity?.available)),
        f("capacity_maximum", num("capacity_maximum", resource.capacity?.maximum)),
        f("assured_date", h("input", { type: "date", name: "assured_date", value: fmtDay(resource.assured_date), disabled: ro })),
      ),
      h("div", { class: "grid grid-2" }, f("schedule_description", text("schedule_description")), f("cost_description", text("cost_description"))),
      h("div", { class: "grid grid-4" }, f("phone", text("phone", { placeholder: "0714-xxxxxxx 或 11 位手机号" }))),
    ),
    canEdit
      ? h(
          "div",
          { class: "form-actions" },
          h("button", { type: "submit", class: "btn btn-primary", id: "save-resource" }, isNew ? "创建资源" : "保存修改"),
          h("a", { class: "btn btn-ghost", href: "#/catalog" }, "返回列表"),
          !isNew && resource.status !== "defunct" ? h("button", { type: "button", class: "btn btn-danger", onclick: retire }, "撤销资源") : null,
        )
      : h("div", { class: "form-actions" }, h("a", { class: "btn", href: "#/catalog" }, "返回列表")),
  );

  // Keep the stored order of list fields (the first category is the primary one): boxes ticked later go last.
  const order = {};
  for (const name of ["categories", "service_areas", "target_groups"]) {
    order[name] = [...(resource[name] || [])];
    form.querySelectorAll(`input[name="${name}"]`).forEach((box) =>
      box.addEventListener("change", () => {
        const i = order[name].indexOf(box.value);
        if (box.checked && i < 0) order[name].push(box.value);
        if (!box.checked && i >= 0) order[name].splice(i, 1);
      }),
    );
  }

  function collect() {
    const data = new FormData(form);
    const value = (name) => (form.elements[name].value ?? "").trim();
    const intOrNull = (name) => (value(name) === "" ? null : Number(value(name)));
    const ordered = (name) => {
      const chosen = data.getAll(name);
      return [...order[name].filter((c) => chosen.includes(c)), ...chosen.filter((c) => !order[name].includes(c))];
    };
    return {
      id: isNew ? value("id") : resource.id,
      name: value("name"),
      description: value("description"),
      organization: value("organization"),
      brand: value("brand"),
      categories: ordered("categories"),
      service_areas: ordered("service_areas"),
      target_groups: ordered("target_groups"),
      minimum_age: intOrNull("minimum_age"),
      maximum_age: intOrNull("maximum_age"),
      eligibility_description: value("eligibility_description"),
      status: value("status"),
      capacity: { available: intOrNull("capacity_available"), maximum: intOrNull("capacity_maximum") },
      cost_description: value("cost_description"),
      schedule_description: value("schedule_description"),
      address: value("address"),
      phone: value("phone"),
      assured_date: value("assured_date") || null,
    };
  }

  function markErrors(err) {
    form.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
    for (const e of (err.body && err.body.errors) || []) {
      const loc = e.loc || [];
      let name = loc[0] === "body" ? loc[1] : loc[0];
      if (name === "capacity" && loc[2]) name = `capacity_${loc[2]}`;
      form.querySelector(`.field[data-field="${name}"]`)?.classList.add("invalid");
    }
  }

  async function save() {
    const payload = collect();
    const button = form.querySelector("#save-resource");
    button.disabled = true;
    mount(status, spinner("正在保存…"));
    try {
      const saved = isNew
        ? await api("/api/resources", { method: "POST", json: payload })
        : await api(`/api/resources/${encodeURIComponent(resource.id)}`, { method: "PUT", json: { ...payload, version: resource.version } });
      if (isNew) {
        ctx.go(`catalog/${encodeURIComponent(saved.id)}`);
        return;
      }
      renderForm(view, ctx, saved, false, canEdit, banner("ok", `已保存，当前版本 ${saved.version}。`));
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 409 && !isNew) {
        mount(
          status,
          banner(
            "error",
            h("strong", {}, "保存失败：版本冲突。 "),
            err.message,
            h("div", { class: "banner-actions" },
              h("button", { type: "button", class: "btn btn-sm", id: "reload-latest", onclick: () => resourceEditView(view, [resource.id], ctx) }, "载入最新版本（放弃我的修改）"),
              h("span", { class: "muted" }, "或先复制您修改的内容，再载入最新版本重新编辑。"),
            ),
          ),
        );
      } else {
        markErrors(err);
        mount(status, banner("error", err.message));
      }
      status.scrollIntoView({ block: "start" });
    }
  }

  async function retire() {
    if (!window.confirm(`确定撤销资源“${resource.name}”？撤销后状态改为“已撤销”，不再参与匹配，历史记录保留。`)) return;
    try {
      const retired = await api(`/api/resources/${encodeURIComponent(resource.id)}`, { method: "DELETE" });
      renderForm(view, ctx, retired, false, canEdit, banner("ok", "资源已撤销，不再参与匹配。"));
    } catch (err) {
      mount(status, banner("error", err.message));
    }
  }

  const history = h("section", { class: "panel" }, h("h3", {}, "变更记录"), h("div", { id: "changes" }));

  mount(
    view,
    h(
      "div",
      { class: "page-head" },
      h("h2", {}, isNew ? "新增资源" : `${canEdit ? "编辑" : "查看"}资源：${resource.name}`),
      isNew ? null : h("div", { class: "actions" }, h("span", { class: "tag mono", id: "resource-version" }, `版本 ${resource.version}`), h("span", { class: "muted" }, `最后修改 ${fmtDate(resource.last_modified)}`)),
    ),
    status,
    form,
    isNew ? null : history,
  );
  if (!isNew) loadChanges(history.querySelector("#changes"), resource.id, ctx);
}

const ACTION_LABELS = { seed: "初始载入", create: "新增", update: "修改", import: "导入", delete: "撤销", reserve: "占用名额", release: "释放名额" };
const CODE_FIELDS = { categories: "category", service_areas: "area", target_groups: "group", status: "status" };

/** A change-log value as a person reads it: code lists become labels. */
function changeValue(field, value, ctx) {
  if (value == null) return "";
  const kind = CODE_FIELDS[field];
  if (!kind) return value;
  try {
    const parsed = JSON.parse(value);
    return (Array.isArray(parsed) ? parsed : [parsed]).map((c) => ctx.label[kind](c)).join("、");
  } catch {
    return ctx.label[kind](value);
  }
}

async function loadChanges(box, id, ctx) {
  try {
    const changes = await api(`/api/resources/${encodeURIComponent(id)}/changes`);
    const recent = changes.slice(-30).reverse();
    mount(
      box,
      recent.length
        ? h(
            "table",
            { class: "table table-compact" },
            h("thead", {}, h("tr", {}, ["时间", "操作人", "操作", "字段", "原值", "新值"].map((t) => h("th", {}, t)))),
            h(
              "tbody",
              {},
              recent.map((c) =>
                h("tr", {}, h("td", { class: "nowrap" }, fmtDate(c.changed_at)), h("td", {}, c.actor), h("td", {}, ACTION_LABELS[c.action] || c.action), h("td", {}, FIELD_LABELS[c.field] || c.field), h("td", { class: "clip", title: c.old_value ?? "" }, changeValue(c.field, c.old_value, ctx)), h("td", { class: "clip", title: c.new_value ?? "" }, changeValue(c.field, c.new_value, ctx))),
              ),
            ),
          )
        : h("p", { class: "muted" }, "暂无变更记录。"),
    );
  } catch (err) {
    mount(box, banner("error", err.message));
  }
}

// -- import ------------------------------------------------------------------------------------------------

export async function importView(view, _params, ctx) {
  const input = h("input", { type: "file", id: "import-file", accept: ".xlsx,.xlsm,.csv,.json,.yaml,.yml", "aria-label": "选择文件" });
  const result = h("div", { id: "import-result" });
  const buttons = [
    h("button", { class: "btn", id: "import-check", onclick: () => run(true) }, "仅校验"),
    h("button", { class: "btn btn-primary", id: "import-run", onclick: () => run(false) }, "导入"),
  ];

  async function run(dryRun) {
    const file = input.files[0];
    if (!file) {
      mount(result, banner("warn", "请先选择要导入的文件。"));
      return;
    }
    buttons.forEach((b) => (b.disabled = true));
    mount(result, spinner(dryRun ? "正在校验…" : "正在导入…"));
    const form = new FormData();
    form.append("file", file);
    try {
      const report = await api("/api/resources/import", { method: "POST", form, query: { dry_run: dryRun } });
      mount(result, dryRun ? banner("ok", `校验通过：${file.name} 共 ${report.total_rows} 行，全部正确，可以导入。`) : successReport(report, file.name));
    } catch (err) {
      mount(result, failureReport(err, file.name));
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  function successReport(report, name) {
    const link = (id) => h("a", { href: `#/catalog/${encodeURIComponent(id)}`, class: "mono" }, id);
    const list = (title, ids) =>
      ids.length ? h("p", {}, h("strong", {}, `${title}（${ids.length}）：`), ids.slice(0, 50).flatMap((id, i) => (i ? ["、", link(id)] : [link(id)])), ids.length > 50 ? " …" : "") : null;
    return h(
      "div",
      {},
      banner("ok", h("strong", {}, "导入成功。 "), `${name} 共 ${report.total_rows} 行：新增 ${report.created.length} 条，更新 ${report.updated.length} 条，未变化 ${report.unchanged.length} 条。`),
      list("新增", report.created),
      list("更新", report.updated),
      h("a", { class: "btn", href: "#/catalog" }, "查看资源目录"),
    );
  }

  function failureReport(err, name) {
    const rows = err instanceof ApiError ? err.rowErrors : [];
    if (!rows.length) return banner("error", `${name}：${err.message}`);
    const byRow = new Set(rows.map((r) => r.row));
    return h(
      "div",
      {},
      banner("error", h("strong", {}, "未导入任何数据。 "), err.message, `（共 ${rows.length} 处错误，涉及 ${byRow.size} 行）`),
      h(
        "table",
        { class: "table table-compact", id: "row-errors" },
        h("thead", {}, h("tr", {}, ["行号", "编号", "字段", "问题"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          rows.map((r) =>
            h("tr", { class: "row-error" }, h("td", { class: "num" }, `第 ${r.row} 行`), h("td", { class: "mono" }, r.resource_id || ""), h("td", {}, FIELD_LABELS[r.field] || r.field), h("td", {}, r.message)),
          ),
        ),
      ),
      h("p", { class: "hint" }, "请在 Excel 中按行号修改后重新上传。导入是整体生效的：只要有一行有错，所有行都不会写入。"),
    );
  }

  mount(
    view,
    h("div", { class: "page-head" }, h("h2", {}, "批量导入资源")),
    h(
      "section",
      { class: "panel" },
      h(
        "ol",
        { class: "steps" },
        h("li", {}, "准备 Excel（.xlsx）、CSV、JSON 或 YAML 文件。表头使用中文列名（编号、名称、服务类别、服务区域…），可先", h("a", { href: "#", onclick: (e) => { e.preventDefault(); download("/api/resources/export", { format: "xlsx", area: ctx.me.citywide ? "" : ctx.me.county }, "资源目录模板.xlsx"); } }, "导出现有目录"), "作为模板。"),
        h("li", {}, "类别、区域、对象可填代码或中文名称，多个用“；”分隔；编号已存在的行会更新该资源。"),
        h("li", {}, "先“仅校验”查看逐行错误；全部正确后再“导入”。有任何一行出错时不会写入任何数据。"),
      ),
      h("div", { class: "import-bar" }, input, ...buttons),
    ),
    result,
  );
}

// -- gap report --------------------------------------------------------------------------------------------

export async function gapsView(view, _params, ctx) {
  const tax = ctx.taxonomy;
  const county = select([["", "全市"], ...tax.areas.filter((a) => !a.citywide).map((a) => [a.code, a.label])], ctx.me.citywide ? "" : ctx.me.county, { "aria-label": "区县", id: "gap-county", disabled: !ctx.me.citywide });
  const days = select([["30", "近30天"], ["90", "近90天"], ["365", "近一年"]], "30", { "aria-label": "时间范围", id: "gap-days" });
  const body = h("div", { id: "gap-report" });
  const query = () => {
    const since = new Date(Date.now() - (Number(days.value) - 1) * 86400000);
    return { county: county.value, from: localDay(since), to: localDay(new Date()) };
  };

  async function load() {
    mount(body, spinner());
    try {
      mount(body, renderGaps(await api("/api/reports/gaps", { query: query() }), ctx));
    } catch (err) {
      mount(body, banner("error", err.message));
    }
  }
  county.addEventListener("change", load);
  days.addEventListener("change", load);
  mount(
    view,
    h(
      "div",
      { class: "page-head" },
      h("h2", {}, "资源缺口报告"),
      h("div", { class: "actions" }, county, days, h("button", { class: "btn btn-sm", onclick: () => download("/api/reports/gaps", { ...query(), format: "xlsx" }, "资源缺口报告.xlsx").catch((e) => alert(e.message)) }, "导出 XLSX")),
    ),
    h("p", { class: "muted" }, "统计匹配时找不到合格资源的需求，以及因名额不足被退回、取消的工单，用于发现需要新建或扩容的服务。"),
    body,
  );
  await load();
}

function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function renderGaps(report, ctx) {
  const rows = [...(report.rows || [])].sort((a, b) => b.total - a.total);
  const period = `${report.from} 至 ${report.to}，${report.county_label}`;
  if (!rows.length) return banner("ok", `${period}：没有记录到资源缺口。`);
  const byCategory = new Map();
  for (const row of rows) {
    const entry = byCategory.get(row.category) || { label: short(row.category_label || ctx.label.category(row.category)), values: [0, 0] };
    entry.values[0] += row.unmet;
    entry.values[1] += row.capacity_declines;
    byCategory.set(row.category, entry);
  }
  const data = [...byCategory.values()].sort((a, b) => b.values[0] + b.values[1] - (a.values[0] + a.values[1]));
  const reasons = report.reason_labels || {};
  const total = rows.reduce((s, r) => s + r.total, 0);
  return h(
    "div",
    { class: "gap-layout" },
    h(
      "section",
      { class: "panel" },
      h("h3", {}, `按服务类别（${period}，共 ${total} 次）`),
      barChart(data, { id: "gap-chart", unit: "次", series: ["未满足需求", "名额不足退回"] }),
    ),
    h(
      "section",
      { class: "panel" },
      h("h3", {}, "明细（区县 × 类别）"),
      h(
        "table",
        { class: "table table-compact", id: "gap-table" },
        h("thead", {}, h("tr", {}, ["区县", "服务类别", "未满足", "主要原因", "名额不足退回", "合计"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          rows.map((r) => {
            const main = Object.entries(r.unmet_by_reason || {}).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${reasons[code] || code} ${n}`).join("；");
            return h(
              "tr",
              {},
              h("td", { class: "nowrap" }, r.county_label || ctx.label.area(r.county)),
              h("td", { class: "nowrap" }, short(r.category_label || ctx.label.category(r.category))),
              h("td", { class: "num" }, r.unmet),
              h("td", {}, main),
              h("td", { class: "num" }, r.capacity_declines),
              h("td", { class: "num strong" }, r.total),
            );
          }),
        ),
      ),
    ),
  );
}

function short(label) {
  return String(label).replace(/（.*）|\(.*\)/, "");
}
