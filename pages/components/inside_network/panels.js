// The panels inside the network, drawn from a view of core/views/inside_view.py: `showPanels(panel, view)`.
// Shared by the finished run's component (inside_network.js) and the live run's (live_run/live_run.js, which
// gets each new view on its one socket). Each view is whole:
//   version     the version of the run's snapshots it was made from (core.runs.snapshots.version)
//   when        a live run's line above the panels (or that they appear as training starts), else null
//   firstLayer  {views: [{name, picture (data URI), width (screen pixels), caption}, ...], help}
//   favourites  {pictures: [one data URI per neuron of the first layer's picture], caption, hint}
//   guesses     {title, tiles: [{picture, caption, right}], caption, score, when}, or {title, unreadable}
//   weights     {figure (Plotly.js JSON), version, config}
// A view before the run's first snapshot has no panels (firstLayer, guesses, weights).
// Only what differs from what is shown is changed: the same epoch again changes nothing, and the chart is
// drawn again only when its `version` changed. Which view of the first layer shows is the browser's choice.

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
  const image = $(".in-neurons");
  setPicture(image, view.picture);
  if (image.style.width !== `${view.width}px`) image.style.width = `${view.width}px`;
  setText($(".in-layer-caption"), view.caption);
}

// The neuron under a click on the first layer's picture: its squares are 28 pixels with 2 between them and
// around them (core/views/pictures.py, weight_grid), 6 to a row; null between squares.
function neuronAt(image, event, count) {
  const box = image.getBoundingClientRect();
  const x = ((event.clientX - box.left) * image.naturalWidth) / box.width;
  const y = ((event.clientY - box.top) * image.naturalHeight) / box.height;
  const column = Math.floor((x - 2) / 30);
  const row = Math.floor((y - 2) / 30);
  const columns = Math.round((image.naturalWidth - 2) / 30);
  const inside = (x - 2) % 30 < 28 && (y - 2) % 30 < 28 && column < columns;
  const neuron = row * columns + column;
  return inside && neuron >= 0 && neuron < count ? neuron : null;
}

// A neuron's favourite digits: chosen by a click on its square or in the list (the keyboard's way), kept
// across epochs, its picture from the latest view.
function favourites(panel, view) {
  const $ = (selector) => panel.querySelector(`.in-first-layer ${selector}`);
  const select = $(".in-neuron");
  if (select.options.length !== view.pictures.length + 1) {
    select.replaceChildren(
      new Option("choose a neuron", ""),
      ...view.pictures.map((_, i) => new Option(`neuron ${i + 1}`, String(i))),
    );
  }
  panel.favourites = view;
  if (!panel.favouritesWired) {
    panel.favouritesWired = true;
    const show = () => favourite(panel);
    select.addEventListener("change", show);
    const image = $(".in-neurons");
    image.style.cursor = "pointer";
    image.addEventListener("click", (event) => {
      const neuron = neuronAt(image, event, panel.favourites.pictures.length);
      if (neuron === null) return;
      select.value = String(neuron);
      show();
    });
  }
  favourite(panel);
}

function favourite(panel) {
  const $ = (selector) => panel.querySelector(`.in-first-layer ${selector}`);
  const view = panel.favourites;
  const chosen = $(".in-neuron").value;
  const image = $(".in-favourite img");
  image.hidden = chosen === "";
  if (chosen !== "") {
    setPicture(image, view.pictures[Number(chosen)]);
    image.alt = `Neuron ${Number(chosen) + 1}'s weights and the validation digits that make it fire most`;
  }
  setText($(".in-favourite-caption"), chosen === "" ? view.hint : view.caption);
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

function showPanels(panel, view) {
  panel.version = view.version;
  const when = panel.querySelector(".in-when");
  when.hidden = !view.when;
  setText(when, view.when);
  panel.querySelector(".in-panels").hidden = !view.firstLayer;
  if (view.firstLayer) {
    firstLayer(panel, view.firstLayer);
    if (view.favourites) favourites(panel, view.favourites);
    guesses(panel, view.guesses);
    weights(panel, view.weights);
  }
}

// Let go of what the panels hold once they have left the page: the chart's observer and Plotly's state.
function forgetPanels(panel) {
  const chart = panel.querySelector(".in-chart");
  chart.observer?.disconnect();
  window.Plotly?.purge(chart);
}
