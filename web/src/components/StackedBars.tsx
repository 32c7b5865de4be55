import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartDataset } from "chart.js";
import { useEffect, useRef } from "preact/hooks";

// Only the pieces these charts use, so the bundle carries no more of Chart.js than needed.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue("--font").trim() || "system-ui, sans-serif";
Chart.defaults.color = "#6b7280";

export const PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#9ca3af"];

export interface Series {
  label: string;
  values: number[];
}

/** Renders one y-axis tick; `step` is the distance between ticks, so all ticks can share one precision. */
export type TickFormat = (value: number, step: number) => string;

/**
 * One stacked bar per day. `format` renders tooltip values and `tick` the y-axis (default:
 * `format`). `integer` is for counts: the axis then never shows a fraction (no 0.5 request).
 */
export function StackedBars({
  labels,
  series,
  format,
  tick,
  integer = false,
  testid,
  title,
}: {
  labels: string[];
  series: Series[];
  format: (value: number) => string;
  tick?: TickFormat;
  integer?: boolean;
  testid: string;
  title: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 250 },
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, grid: { color: "#eef0f3" }, border: { display: false }, ticks: { maxTicksLimit: 5 } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, usePointStyle: true, pointStyle: "rectRounded" } },
          tooltip: { filter: (item) => Number(item.raw) !== 0 },
        },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = series.map(
      (s, i): ChartDataset<"bar"> => ({
        label: s.label,
        data: s.values,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderRadius: 3,
        maxBarThickness: 28,
      }),
    );
    const y = c.options.scales!.y!;
    y.ticks = {
      ...y.ticks,
      // Counts step by whole numbers only; money keeps Chart.js's own (decimal) steps.
      precision: integer ? 0 : undefined,
      callback: (value, _index, ticks) => {
        const step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : Math.abs(Number(value));
        return (tick ?? ((v: number) => format(v)))(Number(value), step);
      },
    };
    c.options.plugins!.tooltip!.callbacks = { label: (item) => `${item.dataset.label}: ${format(Number(item.raw))}` };
    c.update();
  }, [labels, series, format, tick, integer]);

  return (
    <div class="chart-box">
      <canvas ref={canvas} role="img" aria-label={title} data-testid={testid} />
    </div>
  );
}
