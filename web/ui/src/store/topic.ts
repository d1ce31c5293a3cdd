// A set of listeners told of one kind of change: what every store's
// subscribe and notify are made of.

export type Listener = () => void;

/** Topic is a set of listeners told of one kind of change. */
export class Topic {
  private listeners = new Set<Listener>();
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  notify(): void {
    for (const l of this.listeners) l();
  }
}
