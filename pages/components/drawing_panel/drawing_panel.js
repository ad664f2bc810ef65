// The Draw page's answer to a drawing (pages/components/drawing_panel). Each update from Python is the whole view:
//   hint        the message for an empty canvas (no prediction), or null
//   prediction  {digit, heading, said, runnersUp, probabilities: [ten numbers], bars: [ten labels]}, or null
//   status      {kind: "success" | "info" | "error", text} after a label button, or null
//   map         {picture (data URI), alt, marker: [x, y] as fractions of the picture, or null, caption}
//   seen        {picture (data URI), alt}: the 28x28 image the model saw, or null
//   why         {title, picture (data URI), alt, caption}: each pixel's evidence for the answer, or null
//   inside      {picture (data URI), alt, caption}, or null
// The answer is also said to screen readers through a polite live region (in words of its own: the page's text is
// not repeated), and the hint is a status: once per stroke, as the view comes once per stroke.
// Only what differs from what is shown is changed: a stroke moves the ring and swaps two small pictures,
// and the map's picture (the same for every stroke) is decoded once.

function show(element, visible) {
  if (element.hidden === visible) element.hidden = !visible;
}

function bars(container, prediction) {
  if (!container.children.length) {
    for (let digit = 0; digit < 10; digit++) {
      container.insertAdjacentHTML(
        "beforeend",
        `<div class="dp-bar"><div class="dp-track"><span class="dp-value"></span><div class="dp-fill"></div></div>` +
          `<span class="dp-digit">${digit}</span></div>`,
      );
    }
  }
  [...container.children].forEach((bar, digit) => {
    const p = prediction.probabilities[digit];
    bar.classList.toggle("dp-chosen", digit === prediction.digit);
    // Room is kept above the tallest bar for its value.
    bar.querySelector(".dp-fill").style.height = `calc(${(100 * p).toFixed(1)}% - ${(1.3 * p).toFixed(2)}em)`;
    setText(bar.querySelector(".dp-value"), prediction.bars[digit]);
  });
}

function update(panel, view) {
  const $ = (selector) => panel.querySelector(selector);
  setText($(".dp-announce"), view.prediction?.said);
  show($(".dp-hint"), Boolean(view.hint));
  setText($(".dp-hint"), view.hint);
  const prediction = view.prediction;
  show($(".dp-answer"), Boolean(prediction));
  setText($(".dp-heading"), prediction?.heading); // emptied when hidden: no stale answer left in the page
  if (prediction) {
    panel.digit = prediction.digit;
    $(".dp-right").title = `Save it as a ${prediction.digit}`;
    setText($(".dp-runners-up"), prediction.runnersUp);
    bars($(".dp-bars"), prediction);
  }
  const status = $(".dp-status");
  show(status, Boolean(view.status));
  status.dataset.kind = view.status?.kind ?? "";
  setText(status, view.status?.text);

  setPicture($(".dp-map-picture"), view.map.picture);
  $(".dp-map-picture").alt = view.map.alt;
  const ring = $(".dp-ring");
  show(ring, Boolean(view.map.marker));
  if (view.map.marker) {
    ring.style.left = `${(100 * view.map.marker[0]).toFixed(2)}%`;
    ring.style.top = `${(100 * view.map.marker[1]).toFixed(2)}%`;
  }
  setText($(".dp-map-caption"), view.map.caption);

  show($(".dp-seen"), Boolean(view.seen));
  setPicture($(".dp-seen img"), view.seen?.picture);
  $(".dp-seen img").alt = view.seen?.alt ?? "";
  show($(".dp-why"), Boolean(view.why));
  setText($(".dp-why-title"), view.why?.title);
  setPicture($(".dp-why img"), view.why?.picture);
  $(".dp-why img").alt = view.why?.alt ?? "";
  setText($(".dp-why-caption"), view.why?.caption);
  show($(".dp-inside"), Boolean(view.inside));
  setPicture($(".dp-inside img"), view.inside?.picture);
  $(".dp-inside img").alt = view.inside?.alt ?? "";
  setText($(".dp-inside .dp-caption"), view.inside?.caption);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const panel = parentElement.querySelector(".drawing-panel");
  panel.label = (digit) => setTriggerValue("label", digit); // the latest update's, for the listener below
  if (!panel.wired) {
    panel.wired = true;
    panel.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const digit = button.classList.contains("dp-right") ? panel.digit : Number(button.dataset.digit);
      if (Number.isInteger(digit)) panel.label(digit);
    });
  }
  update(panel, data);
}
