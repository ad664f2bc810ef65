// The Train page's live training curves (pages/_live_chart.py): one Plotly chart, drawn once, then only
// appended to. Each update from Python covers the records from `from` to `to` ([batch records, epoch
// records]); the chart remembers the `to` it has drawn (`held`). An update that does not start where the
// chart stands (the chart was mounted again, an update went missing) is not drawn: the chart asks Python to
// send again from what it holds, with the trigger "resync".

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
// transparent background, as Streamlit styles the figures of st.plotly_chart.
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
    xaxis: { ...layout.xaxis, ...axis },
    yaxis: { ...layout.yaxis, ...axis },
    xaxis2: { ...layout.xaxis2, ...axis },
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
  if (hasPoints) return Plotly.extendTraces(chart, { x: update.x, y: update.y }, update.x.map((_, i) => i));
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
  return () => window.Plotly?.purge(chart);
}
