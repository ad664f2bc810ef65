// Inside the network (pages/_inside_network.py, the view from core/inside_view.py). Each view is whole:
//   mark        the run's snapshots it was made from (core.snapshots.mark)
//   when        a live run's line above the panels (or that they appear as training starts), else null
//   firstLayer  {views: [{name, picture (data URI), width (screen pixels), caption}, ...], help}
//   guesses     {title, tiles: [{picture, caption, right}], caption, score, when}, or {title, unreadable}
//   weights     {figure (Plotly.js JSON), version, config}
// and the page adds `plotly` (where plotly.min.js is served) and, while the run trains, `feed`: where the
// panels fetch the run's latest view when the live curves announce newer snapshots (no rerun of the page).
// A view before the run's first snapshot has no panels (firstLayer, guesses, weights).
// Only what differs from what is shown is changed: the same epoch again changes nothing, and the chart is
// drawn again only when its `version` changed. Which view of the first layer shows is the browser's choice.

function setText(element, text) {
  if (element.textContent !== (text ?? "")) element.textContent = text ?? "";
}

function setPicture(image, source) {
  if (source && image.getAttribute("src") !== source) image.setAttribute("src", source);
}

function firstLayer(panel, layer) {
  const $ = (selector) => panel.querySelector(`.in-first-layer ${selector}`);
  const names = layer.views.map((view) => view.name);
  const buttons = $(".in-views");
  if (buttons.dataset.names !== names.join("|")) {
    buttons.dataset.names = names.join("|");
    buttons.replaceChildren(
      ...names.map((name, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = name;
        button.title = layer.help;
        button.addEventListener("click", () => {
          panel.chosenView = i;
          firstLayer(panel, panel.layer);
        });
        return button;
      }),
    );
  }
  buttons.hidden = names.length < 2;
  panel.layer = layer;
  const chosen = Math.min(panel.chosenView ?? 0, names.length - 1);
  [...buttons.children].forEach((button, i) => button.setAttribute("aria-pressed", String(i === chosen)));
  const view = layer.views[chosen];
  const image = $("img");
  setPicture(image, view.picture);
  if (image.style.width !== `${view.width}px`) image.style.width = `${view.width}px`;
  setText($(".in-caption"), view.caption);
}

function guesses(panel, view) {
  const $ = (selector) => panel.querySelector(`.in-guesses ${selector}`);
  setText($("h4"), view.title);
  const tiles = $(".in-tiles");
  const caption = $(".in-caption");
  if (view.unreadable) {
    tiles.replaceChildren();
    setText(caption, view.unreadable);
    return;
  }
  while (tiles.children.length > view.tiles.length) tiles.lastChild.remove();
  while (tiles.children.length < view.tiles.length) {
    tiles.insertAdjacentHTML("beforeend", "<figure><img alt=''><figcaption></figcaption></figure>");
  }
  view.tiles.forEach((tile, i) => {
    const figure = tiles.children[i];
    setPicture(figure.querySelector("img"), tile.picture);
    figure.dataset.right = String(tile.right);
    setText(figure.querySelector("figcaption"), tile.caption);
  });
  // "… a red frame and ✗ mark a wrong guess. **17 of 20 right** after epoch 3."
  const text = `${view.caption} |${view.score}| ${view.when}.`;
  if (caption.dataset.text !== text) {
    caption.dataset.text = text;
    const score = document.createElement("strong");
    score.textContent = view.score;
    caption.replaceChildren(`${view.caption} `, score, ` ${view.when}.`);
  }
}

// The weights' chart is drawn only while some of it is on screen: it sits below the curves and the other
// panels, usually scrolled past, and drawing it again is most of what an epoch's update costs the browser,
// on the cores that train. The latest view waits (`pending`) and is drawn as soon as the chart is scrolled to.
function weights(panel, view) {
  const chart = panel.querySelector(".in-chart");
  chart.pending = view;
  chart.observer ??= whenShown(chart, () => drawWeights(panel, chart));
  if (chart.shown) drawWeights(panel, chart);
}

function drawWeights(panel, chart) {
  const view = chart.pending;
  chart.pending = null;
  if (!view || chart.dataset.version === view.version) return;
  chart.dataset.version = view.version;
  // Drawn in the order the updates came, once Plotly has loaded; Plotly.react changes only what differs.
  chart.drawing = (chart.drawing ?? loadPlotly(panel.plotlyUrl))
    .then(() => window.Plotly.react(chart, view.figure.data, themed(view.figure.layout, chart), view.config))
    .catch((error) => {
      chart.textContent = error.message;
    });
}

// Keeps `element.shown` (whether any of it is in the window) and calls `onShown` each time it comes into view.
function whenShown(element, onShown) {
  const observer = new IntersectionObserver((entries) => {
    element.shown = entries.at(-1).isIntersecting;
    if (element.shown) onShown();
  });
  observer.observe(element);
  return observer;
}

function show(panel, view) {
  panel.mark = view.mark;
  const when = panel.querySelector(".in-when");
  when.hidden = !view.when;
  setText(when, view.when);
  panel.querySelector(".in-panels").hidden = !view.firstLayer;
  if (view.firstLayer) {
    firstLayer(panel, view.firstLayer);
    guesses(panel, view.guesses);
    weights(panel, view.weights);
  }
}

// While the run trains: when the live curves (pages/_live_chart.js) announce snapshots other than those of
// the view shown, fetch the run's latest view from the feed. One fetch at a time; a failed one is tried
// again at the next announcement (twice a second).
function follow(panel, feed) {
  panel.feed = feed;
  panel.refresh ??= async (latest) => {
    if (!panel.feed || !latest || latest === panel.mark || panel.fetching || !panel.isConnected) return;
    panel.fetching = true;
    try {
      const answer = await fetch(panel.feed, { cache: "no-store" });
      if (answer.ok) show(panel, await answer.json());
    } catch {
      // The server is restarting, or the network dropped: the next announcement tries again.
    } finally {
      panel.fetching = false;
    }
  };
  if (feed && !panel.listener) {
    panel.listener = (event) => panel.refresh(event.detail);
    document.addEventListener("mnist-snapshots", panel.listener);
  }
  panel.refresh(window.mnistSnapshotsMark); // announced before this panel was listening
}

export default function ({ data, parentElement }) {
  const panel = parentElement.querySelector(".inside-network");
  panel.plotlyUrl = data.plotly;
  show(panel, data);
  follow(panel, data.feed);
  // Streamlit calls this when the panel is unmounted, but also when an update arrived before this call was
  // made: the panel then stays, so it is let go only once it has left the page.
  return () =>
    setTimeout(() => {
      if (panel.isConnected) return;
      const chart = panel.querySelector(".in-chart");
      chart.observer?.disconnect();
      window.Plotly?.purge(chart);
      document.removeEventListener("mnist-snapshots", panel.listener);
    });
}
