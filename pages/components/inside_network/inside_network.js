// Inside the network for a finished run (pages/components/inside_network): the page sends the view of the epoch
// its slider chose, with `plotly` (where plotly.min.js is served); panels.js draws it. A live run's panels are
// part of the live run's component instead (pages/components/live_run), which follows the run on its socket.

export default function ({ data, parentElement }) {
  const panel = parentElement.querySelector(".inside-network");
  panel.plotlyUrl = data.plotly;
  showPanels(panel, data);
  // Streamlit calls this when the panel is unmounted, but also when an update arrived before this call was
  // made: the panel then stays, so it is let go only once it has left the page.
  return () => setTimeout(() => panel.isConnected || forgetPanels(panel));
}
