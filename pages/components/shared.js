// What every component's script shares (pages/components/__init__.py puts this file in front of each):
// setting a text or a picture only when it changed, so an update repaints only what it changes.

function setText(element, text) {
  if (element.textContent !== (text ?? "")) element.textContent = text ?? "";
}

function setPicture(image, source) {
  if (source && image.getAttribute("src") !== source) image.setAttribute("src", source);
}
