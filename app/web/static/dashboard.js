// The district office's pages: the week's dashboard, the weekly list, the model card.
import "./core.js";
