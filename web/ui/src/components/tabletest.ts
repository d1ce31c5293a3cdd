// The flow table in a test DOM (happy-dom, installed by the caller with
// installDOM): the stores, n flows, and the table rendered into root.
import type { HTTPFlow } from "../flowtypes";
import { settle } from "../detail/domtest";
import { httpFlow } from "../testutil";

export interface MountOptions {
  /** tweak changes flow i before it is added. */
  tweak?: (f: HTTPFlow, i: number) => void;
  /** columns sets web_columns. */
  columns?: string[];
}

/** mountFlowTable renders the table over n flows (ids f0, f1, ...) into
 * root and returns the stores and the row elements in the DOM. */
export async function mountFlowTable(root: HTMLElement, n: number, opts: MountOptions = {}) {
  const { h, render } = await import("preact");
  const { FlowStore } = await import("../store/flowstore");
  const { AppStore } = await import("../store/app");
  const { StoreContext } = await import("../hooks");
  const { FlowTable } = await import("./FlowTable");
  const flows = new FlowStore();
  const app = new AppStore();
  if (opts.columns) app.setOptions({ web_columns: { value: opts.columns } } as never);
  for (let i = 0; i < n; i++) {
    const f = httpFlow({ id: "f" + i, status: 200 });
    opts.tweak?.(f, i);
    flows.add(f);
  }
  render(h(StoreContext.Provider, { value: { flows, app } as never }, h(FlowTable, {})), root);
  await settle();
  const rows = () => Array.from(root.querySelectorAll('[data-testid="flow-row"]')) as HTMLElement[];
  return { flows, app, rows };
}
