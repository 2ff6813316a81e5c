import { render } from "preact";
import { App } from "./app.js";
import { LiveFeed } from "./live.js";

const feed = new LiveFeed();
feed.connect();
const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App feed={feed} />, root);
}
