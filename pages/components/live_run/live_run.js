// The Train page's live run (pages/components/live_run): its progress, its curves (one Plotly chart, drawn once,
// then only added to) and the panels inside the network (panels.js). The page draws it with what the run has
// so far; then, while the run trains, it opens one socket to the app's live feed (core/live_feed.py), saying
// what it holds, and the server sends what is new about twice a second, with no rerun of the page: points,
// progress, status, and once per epoch the panels' new view. Each update covers the records from `from` to `to` ([batch
// records, epoch records]); the chart remembers the `to` it has drawn (`held`) and draws only an update that
// starts there: the feed follows on from what the chart said it held, and the page's own data (a rerun after
// a click) starts from nothing, so that is drawn only on a new chart.
//
// New points are drawn with Plotly.animate without a redraw: the traces only, the axes and legend left as
// they are. When a point falls outside the y axes drawn so far (a new lowest loss), Plotly.update draws the
// whole figure again, with room beyond the new point so that this happens a few times a training.

const same = (a, b) => a[0] === b[0] && a[1] === b[1];

function draw(chart, update, config) {
  const Plotly = window.Plotly;
  const held = chart.held ?? [0, 0];
  if (!same(update.from, held) || (!chart.held && !update.figure)) return; // not a follow-on: the feed brings it
  const hasPoints = update.x.some((xs) => xs.length);
  if (!chart.held && !hasPoints) return; // nothing to draw yet: the placeholder stays
  const first = !chart.held;
  chart.held = update.to;
  chart.dataset.held = update.to.join(","); // for tests and benchmarks: what the chart holds
  if (first) {
    // The whole figure once, with the points so far in its traces: one draw. Its y axes fit those points with
    // room to spare: Plotly's own autorange gives a single point a whole unit (0% to 150% accuracy) or a
    // decade each way, and the axes only ever grow after that.
    const traces = update.figure.data.map((trace, i) => ({ ...trace, x: update.x[i], y: update.y[i] }));
    const layout = themed(update.figure.layout, chart);
    const ranges = rangesHolding(layout, traces, traces.keys(), update.y) ?? {};
    for (const [name, range] of Object.entries(ranges)) layout[name.split(".")[0]].range = range;
    chart.textContent = "";
    return Plotly.newPlot(chart, traces, layout, config);
  }
  if (!hasPoints) return;
  // Only the traces with new points: most updates add to the per-batch lines alone, and the epochs' traces
  // (a marker per point, each an SVG element) are drawn again once per epoch.
  const traces = update.x.flatMap((xs, i) => (xs.length ? [i] : []));
  const x = traces.map((i) => chart.data[i].x.concat(update.x[i]));
  const y = traces.map((i) => chart.data[i].y.concat(update.y[i]));
  const ranges = rangesHolding(chart.layout, chart.data, traces, y);
  if (ranges) {
    // A new lowest loss or highest accuracy: the whole figure again, its y axes widened with room to spare.
    return Plotly.update(chart, { x, y }, ranges, traces);
  }
  // Only those traces drawn again, the axes left as they are: far less work for the browser than the whole
  // figure (bench/live_chart_cost.py measures it).
  const data = x.map((xs, i) => ({ x: xs, y: y[i] }));
  return Plotly.animate(chart, { data, traces }, { transition: { duration: 0 }, frame: { duration: 0, redraw: false } });
}

// Room left beyond a curve's lowest or highest point when its axis must grow, as a share of the curves' span:
// while the loss falls and the accuracy rises the axes grow a few times a training, not at every update.
const ROOM = 0.25;

// The y axes' ranges ({"yaxis.range": [low, high], ...}) once `y` (the points of the traces of `data` numbered
// in `traces`, all of them) is drawn, or null if every point lies within the ranges of `layout`. Log axes in
// powers of ten; a linear axis (accuracy) is not widened past 0 or 1 by the room alone.
function rangesHolding(layout, data, traces, y) {
  traces = [...traces];
  let widened = false;
  const ranges = {};
  for (const name of ["yaxis", "yaxis2"]) {
    const axis = layout[name];
    const log = axis.type === "log";
    const values = y
      .flatMap((ys, i) => (yAxisOf(data[traces[i]]) === name ? ys : []))
      .filter((value) => value !== null) // a loss that was not a number: a gap in the curve
      .map(log ? Math.log10 : Number);
    if (!values.length) continue;
    const low = Math.min(...values);
    const high = Math.max(...values);
    const room = ROOM * (high - low || 0.1);
    let [drawnLow, drawnHigh] = axis.range ?? [Infinity, -Infinity];
    if (low < drawnLow) drawnLow = log ? low - room : Math.max(low - room, Math.min(low, 0));
    if (high > drawnHigh) drawnHigh = log ? high + room : Math.min(high + room, Math.max(high, 1));
    widened ||= drawnLow !== axis.range?.[0] || drawnHigh !== axis.range?.[1];
    ranges[`${name}.range`] = [drawnLow, drawnHigh];
  }
  return widened ? ranges : null;
}

const yAxisOf = (trace) => `yaxis${(trace.yaxis ?? "y").slice(1)}`;

// How often, at most, the live region speaks: a small network's epochs can pass faster than it can be heard.
const SAY_EVERY_MS = 10000;

// The bar and its line ("Epoch 3 of 20 · step 215 of 430 · … left"), changed only where they changed; the
// live region beside it tells screen readers the epoch, when it changed and not more often than SAY_EVERY_MS.
function progress(element, bar) {
  const region = element.nextElementSibling;
  const now = Date.now();
  if ((bar?.announce ?? "") !== region.textContent && !(now - region.saidAt < SAY_EVERY_MS)) {
    region.textContent = bar?.announce ?? "";
    region.saidAt = now;
  }
  element.hidden = !bar;
  if (!bar) return;
  const percent = (100 * Math.min(Math.max(bar.fraction, 0), 1)).toFixed(1);
  const text = element.querySelector(".live-progress-text");
  if (text.textContent !== bar.text) text.textContent = bar.text;
  if (element.getAttribute("aria-valuenow") !== percent) {
    element.setAttribute("aria-valuenow", percent);
    element.querySelector(".live-progress-fill").style.width = `${percent}%`;
  }
}

// An update, from the page or the feed: its progress, its points and, after an epoch, the panels' new view.
function showUpdate(root, update, config) {
  const panel = root.querySelector(".inside-network");
  if (update.inside && root.page.data.inside) showPanels(panel, update.inside);
  const chart = root.querySelector(".live-curves");
  // Updates are drawn in the order they came, the first one once Plotly has loaded. Plotly changes the chart
  // at the next animation frame: the progress changes in that frame too, so that the browser draws one frame
  // per update, not two (each frame costs it about as much again, whatever changed).
  chart.drawing = chart.drawing
    .then(() => {
      const drawn = draw(chart, update, config);
      requestAnimationFrame(() => progress(root.querySelector(".live-progress"), update.progress));
      return drawn;
    })
    .catch((error) => {
      chart.textContent = error.message;
    });
  return chart.drawing;
}

// While the chart is on the page, the page says it trains and the tab is shown: a socket to the feed, opened
// from what the chart holds. Its updates are drawn as they come, each answered once drawn (the server sends
// the next only then: a page that fell behind gets what it missed in one update); when the run's status is
// no longer the page's, the chart asks for a rerun (once per status) so the page shows it. The server closes
// the socket when the run has ended (1000); a hidden tab closes it and opens it again when shown; a dropped
// one (the server restarting) is opened again after a second.
function follow(root) {
  const chart = root.querySelector(".live-curves");
  const statusIs = (status) => {
    const { data, setTriggerValue } = root.page;
    if (status !== data.status && root.asked !== status) {
      root.asked = status;
      setTriggerValue("status", status);
    }
  };
  const open = async () => {
    await chart.drawing; // what the chart holds once the updates it has are drawn
    if (root.socket || !root.isConnected || !root.page.data.feed || document.hidden) return;
    const held = chart.held ?? [0, 0];
    const shown = root.querySelector(".inside-network").version;
    const query = `batches=${held[0]}&epochs=${held[1]}` + (shown ? `&snapshots=${shown}` : "");
    const url = new URL(`${root.page.data.feed}?${query}`, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    root.socket = socket;
    socket.onmessage = async (event) => {
      const update = JSON.parse(event.data);
      statusIs(update.status);
      await showUpdate(root, update, root.page.data.config);
      if (socket.readyState === WebSocket.OPEN) socket.send("drawn"); // the server sends the next one after this
    };
    socket.onclose = (event) => {
      if (root.socket === socket) root.socket = null;
      if (event.code === 4404) statusIs("gone"); // the server no longer trains it: the page reads it from the store
      else if (event.code !== 1000 && event.code < 4000) setTimeout(open, 1000); // dropped: the server restarts
    };
  };
  root.open = open;
  root.onVisibility ??= () => (document.hidden ? root.socket?.close(1000) : root.open());
  document.addEventListener("visibilitychange", root.onVisibility); // the same function: added once
  open();
}

export default function ({ data, parentElement, setTriggerValue }) {
  parentElement.page = { data, setTriggerValue };
  const chart = parentElement.querySelector(".live-curves");
  chart.drawing ??= loadPlotly(data.plotly);
  const panel = parentElement.querySelector(".inside-network");
  panel.plotlyUrl = data.plotly;
  parentElement.querySelector(".live-inside").hidden = !data.inside;
  showUpdate(parentElement, data, data.config);
  if (data.feed) follow(parentElement);
  else parentElement.socket?.close(1000);
  // Streamlit calls this when the chart is unmounted, but also when an update arrived before this call was
  // made: the chart then stays, so it is freed only once it has left the page.
  return () =>
    setTimeout(() => {
      if (chart.isConnected) return;
      document.removeEventListener("visibilitychange", parentElement.onVisibility);
      parentElement.socket?.close(1000);
      window.Plotly?.purge(chart);
      forgetPanels(panel);
    });
}
