// Hand-drawn SVG charts (no chart library, no CDN).

import { svg } from "./dom.js";

const COLORS = ["#1d4f91", "#f0b429", "#5b8bd0", "#9aa5b1"];

/**
 * Horizontal (optionally stacked) bar chart. data: [{label, values: [n, …]}] drawn in the given order;
 * series: names of the stacked parts (a legend is drawn when there are several). Scales to its container.
 */
export function barChart(data, { id, unit = "", series = [""], width = 640, barHeight = 22, gap = 8 } = {}) {
  const labelWidth = 130;
  const valueWidth = 60;
  const legend = series.length > 1 ? 26 : 0;
  const top = 8 + legend;
  const height = top + 8 + data.length * (barHeight + gap);
  const totals = data.map((d) => d.values.reduce((a, b) => a + b, 0));
  const ticks = niceTicks(Math.max(1, ...totals));
  const plot = width - labelWidth - valueWidth;
  const scale = (v) => (v / ticks[ticks.length - 1]) * plot;

  const parts = [];
  if (legend) {
    let x = labelWidth;
    series.forEach((name, i) => {
      parts.push(svg("rect", { x, y: 6, width: 12, height: 12, rx: 2, fill: COLORS[i % COLORS.length] }));
      parts.push(svg("text", { x: x + 17, y: 12, "dominant-baseline": "central", class: "chart-value" }, name));
      x += 30 + name.length * 13;
    });
  }
  for (const t of ticks) {
    const x = labelWidth + scale(t);
    parts.push(svg("line", { x1: x, x2: x, y1: top - 4, y2: height - 8, class: "chart-grid" }));
    parts.push(svg("text", { x, y: height - 1, "text-anchor": "middle", class: "chart-tick" }, String(t)));
  }
  data.forEach((d, i) => {
    const y = top + i * (barHeight + gap);
    const row = [svg("text", { x: labelWidth - 8, y: y + barHeight / 2, "text-anchor": "end", "dominant-baseline": "central", class: "chart-label" }, d.label)];
    let x = labelWidth;
    d.values.forEach((value, s) => {
      if (!value) return;
      const w = Math.max(2, scale(value));
      row.push(
        svg("rect", { x, y, width: w, height: barHeight, fill: COLORS[s % COLORS.length], class: "chart-bar" }, svg("title", {}, `${d.label} ${series[s] || ""}：${value}${unit}`)),
      );
      x += w;
    });
    row.push(svg("text", { x: x + 6, y: y + barHeight / 2, "dominant-baseline": "central", class: "chart-value" }, `${totals[i]}${unit}`));
    parts.push(svg("g", { class: "chart-row" }, ...row));
  });
  return svg(
    "svg",
    { id, class: "chart", viewBox: `0 0 ${width} ${height + 6}`, width: "100%", role: "img", "aria-label": data.map((d, i) => `${d.label} ${totals[i]}${unit}`).join("，") },
    ...parts,
  );
}

function niceTicks(max) {
  const rough = max / 4;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= rough) || pow * 10);
  const ticks = [];
  for (let t = 0; t < max + step; t += step) ticks.push(t);
  return ticks;
}
