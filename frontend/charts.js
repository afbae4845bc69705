// Chart helpers for server-rendered pages. A page marks a canvas with data attributes
// and this module draws it; htmx swaps re-run it on the new content.
//
//   <canvas data-chart="line" data-labels='["Mon","Tue"]' data-series='[{"label":"Events","data":[3,5]}]'></canvas>
//   <canvas data-chart="sparkline" data-series='[1,4,2,8]'></canvas>
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip, DoughnutController, ArcElement,
} from "chart.js";

Chart.register(
  BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip, DoughnutController, ArcElement,
);

const PALETTE = ["#0f766e", "#2563eb", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d"];

function parse(el, name, fallback) {
  try { return JSON.parse(el.dataset[name] ?? "null") ?? fallback; } catch { return fallback; }
}

function sparkline(el) {
  const data = parse(el, "series", []);
  return new Chart(el, {
    type: "line",
    data: { labels: data.map((_, i) => i), datasets: [{ data, borderColor: PALETTE[0], borderWidth: 1.5,
      pointRadius: 0, fill: true, backgroundColor: "rgba(15,118,110,.12)", tension: .3 }] },
    options: { responsive: false, animation: false, plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } } },
  });
}

function standard(el, type) {
  const labels = parse(el, "labels", []);
  const series = parse(el, "series", []);
  const datasets = series.map((s, i) => ({
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: type === "doughnut" ? PALETTE : PALETTE[i % PALETTE.length] + (type === "line" ? "22" : "cc"),
    fill: type === "line", tension: .25, pointRadius: 2, ...s,
  }));
  return new Chart(el, {
    type, data: { labels, datasets },
    options: { responsive: true, maintainAspectRatio: false, animation: { duration: 250 },
      plugins: { legend: { display: datasets.length > 1 || type === "doughnut" } },
      scales: type === "doughnut" ? {} : { y: { beginAtZero: true } } },
  });
}

export function renderCharts(root = document) {
  root.querySelectorAll("canvas[data-chart]").forEach((el) => {
    if (el._tendrilChart) el._tendrilChart.destroy();
    const kind = el.dataset.chart;
    el._tendrilChart = kind === "sparkline" ? sparkline(el) : standard(el, kind);
  });
}

window.TendrilCharts = { renderCharts, Chart };
document.addEventListener("DOMContentLoaded", () => renderCharts());
document.addEventListener("htmx:afterSettle", (event) => renderCharts(event.target));
