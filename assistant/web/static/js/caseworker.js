// Caseworker views (placeholder until the cases API is wired).
import { banner, mount } from "./dom.js";

export async function newCaseView(view) {
  mount(view, banner("info", "个案功能即将上线。"));
}
export const caseListView = newCaseView;
export const caseView = newCaseView;
