// The components another part of the front end provides: the flow detail
// pane, the options editor, the command bar and the export buttons.
export { FlowDetail } from "../detail/FlowDetail";
export { OptionsEditor } from "../options/OptionsEditor";
export { CommandBar } from "../commandbar/CommandBar";
export { ExportButtons } from "../export/ExportButtons";
