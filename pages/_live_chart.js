// The Train page's live training curves (pages/_live_chart.py): one Plotly chart, drawn once, then only
// added to. Each update from Python covers the records from `from` to `to` ([batch records, epoch records]);
// the chart remembers the `to` it has drawn (`held`). An update that does not start where the chart stands
// (the chart was mounted again, an update went missing) is not drawn: the chart asks Python to send again
// from what it holds, with the trigger "resync".
//
// New points are drawn with Plotly.animate without a redraw: the traces only, the axes and legend left as
// they are. When a point falls outside the y axes drawn so far (a new lowest loss), Plotly.extendTraces
// draws the whole figure again, its axes fitted to every point, as Plotly's autorange would have them.

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  // One <script> for every chart of the page, however many mount while it loads.
  window.mnistPlotlyLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => {
      window.mnistPlotlyLoading = undefined;
      reject(new Error(`The chart library did not load from ${url}.`));
    };
    document.head.appendChild(script);
  });
  return window.mnistPlotlyLoading;
}

const same = (a, b) => a[0] === b[0] && a[1] === b[1];

// "#31333f" at `opacity` as "rgba(49,51,63,0.7)"; any other colour as it is.
function faded(colour, opacity) {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  return hex ? `rgba(${hex.slice(1).map((h) => parseInt(h, 16)).join(",")},${opacity})` : colour;
}

// The app's theme (its font, text and border colours: CSS properties Streamlit gives every component) on a
// transparent background, with grid lines across only, as Streamlit styles the figures of st.plotly_chart.
function themed(layout, element) {
  const style = getComputedStyle(element);
  const css = (name, otherwise) => style.getPropertyValue(name).trim() || otherwise;
  const lines = css("--st-border-color-light", "#e6e9ef");
  const axis = { gridcolor: lines, linecolor: lines, zeroline: false };
  return {
    ...layout,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: css("--st-font", "sans-serif"), color: faded(css("--st-text-color", "#31333f"), 0.7) },
    xaxis: { ...layout.xaxis, ...axis, showgrid: false },
    yaxis: { ...layout.yaxis, ...axis },
    xaxis2: { ...layout.xaxis2, ...axis, showgrid: false },
    yaxis2: { ...layout.yaxis2, ...axis },
  };
}

function draw(chart, update, resync) {
  const Plotly = window.Plotly;
  const held = chart.held ?? [0, 0];
  if (chart.held && same(update.to, held)) return; // drawn already (the same update, passed again)
  if (!same(update.from, held) || (!chart.held && !update.figure)) {
    resync(held);
    return;
  }
  const hasPoints = update.x.some((xs) => xs.length);
  if (!chart.held && !hasPoints) return; // nothing to draw yet: the placeholder stays
  const first = !chart.held;
  chart.held = update.to;
  chart.dataset.held = update.to.join(","); // for tests and benchmarks: what the chart holds
  if (first) {
    // The whole figure once, with the points so far in its traces: one draw.
    const traces = update.figure.data.map((trace, i) => ({ ...trace, x: update.x[i], y: update.y[i] }));
    chart.textContent = "";
    return Plotly.newPlot(chart, traces, themed(update.figure.layout, chart), update.config);
  }
  if (!hasPoints) return;
  const traces = update.x.map((_, i) => i);
  if (!withinAxes(chart, update)) {
    // A new lowest loss or highest accuracy: the whole figure again, its axes fitted to every point.
    return Plotly.extendTraces(chart, { x: update.x, y: update.y }, traces);
  }
  // Only the traces drawn again, the axes left as they are: far less work for the browser than the whole
  // figure (bench/live_chart_cost.py measures it).
  const data = chart.data.map((trace, i) => ({ x: trace.x.concat(update.x[i]), y: trace.y.concat(update.y[i]) }));
  return Plotly.animate(chart, { data, traces }, { transition: { duration: 0 }, frame: { duration: 0, redraw: false } });
}

// Whether every new point lies within the y axis its trace is drawn on (log axes in powers of ten).
function withinAxes(chart, update) {
  return update.y.every((ys, i) => {
    const axis = chart.layout[`yaxis${(chart.data[i].yaxis ?? "y").slice(1)}`];
    if (!axis?.range) return false;
    const [low, high] = axis.range;
    const scale = axis.type === "log" ? Math.log10 : (value) => value;
    return ys.every((y) => low <= scale(y) && scale(y) <= high);
  });
}

export default function ({ data, parentElement, setTriggerValue }) {
  const chart = parentElement.querySelector(".live-curves");
  const resync = (held) => setTriggerValue("resync", held);
  // Updates are drawn in the order they came, the first one once Plotly has loaded.
  chart.drawing = (chart.drawing ?? loadPlotly(data.plotly))
    .then(() => draw(chart, data, resync))
    .catch((error) => {
      chart.textContent = error.message;
    });
  // Streamlit calls this when the chart is unmounted, but also when an update arrived before this call was
  // made: the chart then stays, so it is freed only once it has left the page.
  return () =>
    setTimeout(() => {
      if (!chart.isConnected) window.Plotly?.purge(chart);
    });
}
