// Plotly in the page's own DOM, for the components that draw with it (live_run, inside_network):
// pages/components/__init__.py puts this file in front of each such component's script.

// plotly.min.js from this app's server (pages/components/plotly_in_page.py's `plotly_url`), loaded once for the page.
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

// "#31333f" at `opacity` as "rgba(49,51,63,0.7)"; any other colour as it is.
function faded(colour, opacity) {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  return hex ? `rgba(${hex.slice(1).map((h) => parseInt(h, 16)).join(",")},${opacity})` : colour;
}

// The app's theme (its font, text and border colours: CSS properties Streamlit gives every component) on a
// transparent background, with grid lines across only, as Streamlit styles the figures of st.plotly_chart.
// Every axis of the layout is styled, however many subplots it has.
function themed(layout, element) {
  const style = getComputedStyle(element);
  const css = (name, otherwise) => style.getPropertyValue(name).trim() || otherwise;
  const lines = css("--st-border-color-light", "#e6e9ef");
  const axes = Object.keys(layout).filter((name) => /^[xy]axis\d*$/.test(name));
  const styled = Object.fromEntries(
    axes.map((name) => [
      name,
      { ...layout[name], gridcolor: lines, linecolor: lines, zeroline: false, ...(name[0] === "x" && { showgrid: false }) },
    ]),
  );
  return {
    ...layout,
    ...styled,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: css("--st-font", "sans-serif"), color: faded(css("--st-text-color", "#31333f"), 0.7) },
  };
}
