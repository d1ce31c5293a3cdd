// The event log pane: /events and events/add, filterable by level,
// following new entries while scrolled to the bottom.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { useStores, useSubscribe } from "../hooks";
import { LEVELS } from "../store/app";

const ROW = 18;

/** levelOf maps the server's levels to the four filter buttons. */
export function levelOf(level: string): string {
  if (level === "warning") return "warn";
  if (level === "alert") return "info";
  return level;
}

export function EventLog() {
  const { app, ui } = useStores();
  useSubscribe(app.eventsTopic);
  useSubscribe(ui);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(200);

  const levels = ui.eventLevels;
  const shown = app.events.filter((e) => levels[levelOf(e.level)] !== false);

  useLayoutEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = scroller.current!;
    if (stick.current) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [app.eventsVersion, shown.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - 20);
  const last = Math.min(shown.length, Math.ceil((scrollTop + height) / ROW) + 20);

  return (
    <div class="eventlog" data-testid="eventlog" style={{ height: ui.eventLogHeight + "px" }}>
      <div class="eventlog-head">
        <span class="title">Event log</span>
        {LEVELS.map((l) => (
          <button
            key={l}
            class={"level-toggle level-" + l + (levels[l] !== false ? " on" : "")}
            data-testid={"eventlog-level-" + l}
            aria-pressed={levels[l] !== false ? "true" : "false"}
            onClick={() => ui.set("eventLevels", { ...levels, [l]: levels[l] === false })}
          >
            {l}
          </button>
        ))}
        <span class="spacer" />
        <button class="close" title="Close" onClick={() => ui.set("showEventLog", false)}>
          ×
        </button>
      </div>
      <div
        class="eventlog-body"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
          setScrollTop(el.scrollTop);
        }}
      >
        <div style={{ height: first * ROW + "px" }} />
        {shown.slice(first, last).map((e) => (
          <div key={e.id} class={"event-entry level-" + levelOf(e.level)} data-testid="event-entry" style={{ minHeight: ROW + "px" }}>
            <span class="event-level">{e.level}</span>
            <span class="event-msg">{e.message}</span>
          </div>
        ))}
        <div style={{ height: (shown.length - last) * ROW + "px" }} />
      </div>
    </div>
  );
}
