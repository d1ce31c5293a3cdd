import { createContext } from "preact";
import { useContext, useEffect, useReducer, useRef } from "preact/hooks";
import type { Connection } from "./connection";
import type { AppStore } from "./store/app";
import type { FlowStore } from "./store/flowstore";
import type { UIStore } from "./store/ui";

export interface Stores {
  flows: FlowStore;
  app: AppStore;
  ui: UIStore;
  conn: Connection;
}

export const StoreContext = createContext<Stores>(null as unknown as Stores);

export function useStores(): Stores {
  return useContext(StoreContext);
}

interface Subscribable {
  subscribe(l: () => void): () => void;
}

/** useSubscribe re-renders the component when the store changes. */
export function useSubscribe(s: Subscribable): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => s.subscribe(() => bump(undefined)), [s]);
}

/** useSelect re-renders the component only when select's value changes
 * (by ===), not on every change of the store. */
export function useSelect<T>(s: Subscribable, select: () => T): T {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const value = select();
  const last = useRef(value);
  last.current = value;
  const sel = useRef(select);
  sel.current = select;
  useEffect(
    () =>
      s.subscribe(() => {
        if (sel.current() !== last.current) bump(undefined);
      }),
    [s],
  );
  return value;
}
