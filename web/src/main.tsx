import { render } from "preact";
import "./styles.css";
import "./theme";
import { App } from "./App";
import { boot } from "./session";

render(<App />, document.getElementById("root")!);
void boot();
