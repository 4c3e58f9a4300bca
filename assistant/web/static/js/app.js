// Workbench shell: login, top bar, side navigation and a hash router (#/cases/new, #/catalog …).

import { api, ApiError, session } from "./api.js";
import { banner, h, logo, mount, spinner } from "./dom.js";
import { caseListView, caseView, newCaseView } from "./caseworker.js";
import { catalogView, gapsView, importView, resourceEditView } from "./manager.js";

const ROUTES = [
  { pattern: /^cases\/new$/, view: newCaseView, roles: ["caseworker", "admin"], nav: "cases/new" },
  { pattern: /^cases$/, view: caseListView, roles: ["caseworker", "admin"], nav: "cases" },
  { pattern: /^cases\/([^/]+)$/, view: caseView, roles: ["caseworker", "admin"], nav: "cases" },
  { pattern: /^catalog$/, view: catalogView, roles: null, nav: "catalog" },
  { pattern: /^catalog\/new$/, view: resourceEditView, roles: ["resource_manager", "admin"], nav: "catalog" },
  { pattern: /^catalog\/([^/]+)$/, view: resourceEditView, roles: null, nav: "catalog" },
  { pattern: /^import$/, view: importView, roles: ["resource_manager", "admin"], nav: "import" },
  { pattern: /^gaps$/, view: gapsView, roles: ["resource_manager", "admin"], nav: "gaps" },
];

const NAV = [
  { title: "个案工作", roles: ["caseworker", "admin"], items: [["cases/new", "新建需求评估"], ["cases", "个案列表"]] },
  {
    title: "资源管理",
    roles: null,
    items: [
      ["catalog", "资源目录", null],
      ["import", "批量导入", ["resource_manager", "admin"]],
      ["gaps", "资源缺口报告", ["resource_manager", "admin"]],
    ],
  },
];

/** What every view receives: the signed-in user, taxonomy labels, and navigation. */
export const ctx = {
  me: null,
  taxonomy: null,
  label: { category: (c) => c, group: (c) => c, area: (c) => c, status: (c) => c },
  can(...roles) {
    return Boolean(this.me) && roles.includes(this.me.role);
  },
  go(path) {
    if (window.location.hash === `#/${path}`) route();
    else window.location.hash = `#/${path}`;
  },
};

const root = document.getElementById("app");
let cleanup = null;

function setTaxonomy(taxonomy) {
  ctx.taxonomy = taxonomy;
  const table = (items) => Object.fromEntries(items.map((i) => [i.code, i.label]));
  const maps = {
    category: table(taxonomy.categories),
    group: table(taxonomy.groups),
    area: table(taxonomy.areas),
    status: table(taxonomy.statuses),
  };
  for (const [kind, map] of Object.entries(maps)) ctx.label[kind] = (code) => map[code] ?? code;
}

function homeFor(me) {
  return me.role === "resource_manager" ? "catalog" : "cases/new";
}

function loginView(message) {
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    placeholder: "hsa_…",
    required: true,
    "aria-label": "访问令牌",
  });
  const status = h("div", { class: "login-status" }, message ? banner("warn", message) : null);
  const button = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "登录");
  const form = h(
    "form",
    {
      class: "login-card",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        mount(status, spinner("正在验证令牌…"));
        session.save(input.value.trim());
        try {
          await start();
        } catch (err) {
          session.clear();
          const text = err instanceof ApiError && err.status === 401 ? "令牌无效或已停用，请核对后重试" : err.message;
          mount(status, banner("error", text));
          button.disabled = false;
        }
      },
    },
    h("div", { class: "login-brand" }, logo(40), h("div", {}, h("h1", {}, "服务类社会救助匹配助手"), h("p", {}, "黄石市民政局 · 需求评估 → 资源匹配 → 精准服务"))),
    h("label", { class: "field", for: "token" }, h("span", { class: "field-label" }, "访问令牌"), input),
    h("small", { class: "hint" }, "令牌由系统管理员发放（assistant users create）。令牌只保存在本浏览器标签页中，关闭标签页即退出。"),
    status,
    button,
  );
  mount(root, h("div", { class: "login-page" }, form));
  input.focus();
}

function shell(active) {
  const me = ctx.me;
  const nav = h(
    "nav",
    { class: "sidenav", "aria-label": "主菜单" },
    NAV.filter((s) => !s.roles || s.roles.includes(me.role)).map((section) =>
      h(
        "div",
        { class: "nav-section" },
        h("div", { class: "nav-title" }, section.title),
        section.items
          .filter(([, , roles]) => !roles || roles.includes(me.role))
          .map(([path, label]) => h("a", { href: `#/${path}`, class: ["nav-link", path === active && "active"] }, label)),
      ),
    ),
  );
  const view = h("main", { id: "view", class: "view" });
  mount(
    root,
    h(
      "header",
      { class: "topbar" },
      h("a", { class: "brand", href: `#/${homeFor(me)}` }, logo(24, true), "黄石市服务类社会救助 · 匹配助手"),
      h(
        "div",
        { class: "user" },
        h("span", { class: "user-name", id: "user-name" }, me.name),
        h("span", { class: "tag" }, me.role_label),
        h("span", { class: "tag tag-muted" }, me.county_label),
        h("button", { class: "btn btn-ghost btn-sm", id: "logout", onclick: logout }, "退出"),
      ),
    ),
    h("div", { class: "frame" }, nav, view),
  );
  return view;
}

function logout() {
  session.clear();
  ctx.me = null;
  window.location.hash = "#/login";
  loginView("已退出登录");
}

async function route() {
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  if (!ctx.me) return;
  const path = window.location.hash.replace(/^#\/?/, "") || homeFor(ctx.me);
  const found = ROUTES.map((r) => ({ r, m: path.match(r.pattern) })).find((x) => x.m);
  if (!found) {
    window.location.hash = `#/${homeFor(ctx.me)}`;
    return;
  }
  const view = shell(found.r.nav);
  if (found.r.roles && !found.r.roles.includes(ctx.me.role)) {
    mount(view, banner("warn", `您的角色（${ctx.me.role_label}）无权使用此页面。`));
    return;
  }
  try {
    cleanup = await found.r.view(view, found.m.slice(1).map(decodeURIComponent), ctx);
  } catch (err) {
    console.error(err);
    mount(view, banner("error", `页面加载失败：${err.message}`));
  }
}

async function start() {
  const [me, taxonomy] = await Promise.all([api("/api/me"), api("/api/taxonomy")]);
  ctx.me = me;
  setTaxonomy(taxonomy);
  if (!window.location.hash || window.location.hash === "#/login") window.location.hash = `#/${homeFor(me)}`;
  else route();
}

window.addEventListener("hashchange", route);
window.addEventListener("auth:expired", () => {
  if (ctx.me) {
    ctx.me = null;
    loginView("登录已失效，请重新输入令牌");
  }
});

if (session.token) {
  start().catch(() => {
    session.clear();
    loginView("登录已失效，请重新输入令牌");
  });
} else {
  loginView();
}
