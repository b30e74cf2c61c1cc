// Offline drafts: reports and new households entered with no connection, kept on the phone until sent.
import "./core.js";
