// A drag handle between two panes. onDrag gets the pointer's position.
import { useRef } from "preact/hooks";

export function Splitter(props: { axis: "x" | "y"; onDrag: (pos: number) => void; testid?: string }) {
  const dragging = useRef(false);
  return (
    <div
      class={"splitter splitter-" + props.axis}
      data-testid={props.testid}
      onPointerDown={(e) => {
        dragging.current = true;
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        e.preventDefault();
      }}
      onPointerMove={(e) => {
        if (dragging.current) props.onDrag(props.axis === "x" ? e.clientX : e.clientY);
      }}
      onPointerUp={(e) => {
        dragging.current = false;
        (e.currentTarget as HTMLElement).releasePointerCapture(e.pointerId);
      }}
    />
  );
}
