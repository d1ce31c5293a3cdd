import { render } from "preact";
import { App } from "./App";
import { Connection } from "./connection";
import { AppStore } from "./store/app";
import { FlowStore } from "./store/flowstore";
import { HIGHLIGHT, SEARCH } from "./store/flowstore";
import { UIStore } from "./store/ui";
import { formatHash, parseHash } from "./urlstate";
import { iconCSS } from "./icons";
import "./style.css";

// The icon classes (icons.tsx), made from the same shapes as the inline icons.
const iconStyle = document.createElement("style");
iconStyle.textContent = iconCSS();
document.head.append(iconStyle);

const flows = new FlowStore();
const app = new AppStore();
const ui = new UIStore();
const conn = new Connection(flows, app);

// The filters and the selection from the page's hash; they are sent when
// /updates opens, and the selection is kept if the flow is there.
const initial = parseHash(location.hash);
ui.search = initial.search;
ui.highlight = initial.highlight;
if (initial.search) conn.setFilter(SEARCH, initial.search);
if (initial.highlight) conn.setFilter(HIGHLIGHT, initial.highlight);
if (initial.selected) flows.selected = [initial.selected];

// ...and back into the hash as they change.
const syncHash = () => {
  const h = formatHash({ search: ui.search, highlight: ui.highlight, selected: flows.selected[0] ?? "" });
  if (h !== location.hash && !(h === "#/flows" && location.hash === "")) history.replaceState(null, "", h);
};
ui.subscribe(syncHash);
let lastSel: string | undefined;
flows.subscribe(() => {
  if (flows.selected[0] !== lastSel) {
    lastSel = flows.selected[0];
    syncHash();
  }
});

render(<App stores={{ flows, app, ui, conn }} />, document.getElementById("app")!);
conn.start();
