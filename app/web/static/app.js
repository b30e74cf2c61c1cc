// 守望 web app: plain ES modules, no build step, nothing fetched from elsewhere.
import { start } from "./core.js";
import "./cadre.js";
import "./drafts.js";
import "./fieldwork.js";
import "./desk.js";
import "./dashboard.js";
import "./records.js";

start();
