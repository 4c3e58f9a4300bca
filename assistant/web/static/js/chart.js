// Hand-drawn SVG charts (no chart library, no CDN).

import { svg } from "./dom.js";

/**
 * Horizontal bar chart. data: [{label, value}] (drawn in the given order). Options: id, unit, width, barHeight.
 * Scales to its container width through the viewBox.
 */
export function barChart(data, { id, unit = "", width = 640, barHeight = 22, gap = 8 } = {}) {
  const labelWidth = 120;
  const valueWidth = 56;
  const top = 8;
  const height = top * 2 + data.length * (barHeight + gap);
  const max = Math.max(1, ...data.map((d) => d.value));
  const plot = width - labelWidth - valueWidth;
  const ticks = niceTicks(max);
  const scale = (v) => (v / ticks[ticks.length - 1]) * plot;

  const grid = ticks.map((t) =>
    svg(
      "g",
      {},
      svg("line", { x1: labelWidth + scale(t), x2: labelWidth + scale(t), y1: top - 4, y2: height - top, class: "chart-grid" }),
    ),
  );
  const bars = data.map((d, i) => {
    const y = top + i * (barHeight + gap);
    const w = Math.max(2, scale(d.value));
    return svg(
      "g",
      { class: "chart-row" },
      svg("text", { x: labelWidth - 8, y: y + barHeight / 2, "text-anchor": "end", "dominant-baseline": "central", class: "chart-label" }, d.label),
      svg("rect", { x: labelWidth, y, width: w, height: barHeight, rx: 3, class: i === 0 ? "chart-bar chart-bar-top" : "chart-bar" }, svg("title", {}, `${d.label}：${d.value}${unit}`)),
      svg("text", { x: labelWidth + w + 6, y: y + barHeight / 2, "dominant-baseline": "central", class: "chart-value" }, `${d.value}${unit}`),
    );
  });
  return svg(
    "svg",
    { id, class: "chart", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": data.map((d) => `${d.label} ${d.value}${unit}`).join("，") },
    ...grid,
    ...bars,
  );
}

function niceTicks(max) {
  const rough = max / 4;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= rough) || pow * 10;
  const ticks = [];
  for (let t = 0; t <= max + step * 0.001; t += step) ticks.push(t);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}
