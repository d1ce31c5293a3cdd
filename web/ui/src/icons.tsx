// Small icons, drawn from one set of SVG sources two ways: as an inline
// <svg> (Icon, for the few in menus and inputs) and as CSS classes
// (iconCSS: .ico-NAME masks a box with the icon, filled with the text
// colour), which the flow table's rows use so that an icon costs no
// element at all (the cell's ::before draws it) rather than an <svg> with
// its shapes in each of the rows. The page loads nothing at run time: the
// CSS holds the icons as data: URLs.
import type { JSX } from "preact";

const stroke = (w: number) => `fill="none" stroke="#000" stroke-width="${w}"`;

/** The icons' shapes: SVG markup in a 16×16 view box, filled in black (a
 * mask takes its alpha; the inline <svg> sets the colour). */
export const iconShapes: Record<string, string> = {
  lock: `<rect x="4" y="7" width="8" height="7" rx="1"/><path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" ${stroke(1.5)}/>`,
  file: `<path d="M4 1.5h5l3 3v10H4z" ${stroke(1.3)}/>`,
  html: `<path d="M5.5 4 2 8l3.5 4M10.5 4 14 8l-3.5 4" ${stroke(1.6)}/>`,
  js: `<path d="M6 2.5C4.5 2.5 4.5 3.5 4.5 5s-1 2.5-2 3c1 .5 2 1.5 2 3s0 2.5 1.5 2.5M10 2.5c1.5 0 1.5 1 1.5 2.5s1 2.5 2 3c-1 .5-2 1.5-2 3s0 2.5-1.5 2.5" ${stroke(1.3)}/>`,
  css: `<circle cx="8" cy="8" r="6" ${stroke(1.3)}/><circle cx="6" cy="6" r="1.2"/><circle cx="10" cy="6" r="1.2"/><circle cx="6.5" cy="10.2" r="1.2"/>`,
  image: `<rect x="2" y="3" width="12" height="10" rx="1" ${stroke(1.3)}/><path d="m3 12 3.5-4 2.5 3 2-2 2 3z"/>`,
  "not-modified": `<path d="M3 8.5 6.5 12 13 4.5" ${stroke(1.8)}/>`,
  redirect: `<path d="M2 12V9a4 4 0 0 1 4-4h7M10 2l3 3-3 3" ${stroke(1.6)}/>`,
  websocket: `<path d="M2 5h11M10 2l3 3-3 3M14 11H3M6 8l-3 3 3 3" ${stroke(1.5)}/>`,
  tcp: `<path d="M2 8h3M11 8h3M5 5h6v6H5z" ${stroke(1.5)}/>`,
  udp: `<path d="m2 8 12-6-4 12-2-5z" ${stroke(1.4)}/>`,
  dns: `<circle cx="8" cy="8" r="6" ${stroke(1.3)}/><path d="M2 8h12M8 2c-2.5 3-2.5 9 0 12M8 2c2.5 3 2.5 9 0 12" ${stroke(1.1)}/>`,
  quic: `<path d="M9 1 3 9h4l-1 6 6-8H8z"/>`,
  pause: `<rect x="4" y="3" width="3" height="10"/><rect x="9" y="3" width="3" height="10"/>`,
  play: `<path d="M4 2.5v11l9-5.5z"/>`,
  replay: `<path d="M3 8a5 5 0 1 0 1.5-3.5M3 2v3h3" ${stroke(1.6)}/>`,
  // The exclamation mark is a hole (even-odd), so that a mask shows it.
  warning: `<path fill-rule="evenodd" d="M8 1.5 15 14H1zM7.25 6h1.5v4h-1.5zM7.25 11h1.5v1.5h-1.5z"/>`,
  close: `<path d="m3.5 3.5 9 9m0-9-9 9" ${stroke(1.8)}/>`,
  help: `<circle cx="8" cy="8" r="6.5" ${stroke(1.3)}/><path d="M6 6.2a2 2 0 1 1 2.8 1.8c-.6.3-.8.7-.8 1.3V10" ${stroke(1.3)}/><circle cx="8" cy="12" r=".9"/>`,
};

/** iconURL is an icon as a data: URL (for a CSS mask). */
export function iconURL(name: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">${iconShapes[name] ?? iconShapes.file}</svg>`;
  return `url("data:image/svg+xml,${encodeURIComponent(svg)}")`;
}

/** iconCSS is the stylesheet of the icon classes: an .ico-NAME element,
 * or the ::before of a .res-NAME cell, is masked with the icon. The rules
 * name the image themselves (a custom property holding it would be
 * parsed again for every element styled). */
export function iconCSS(): string {
  const mask = (n: string) => {
    const u = iconURL(n);
    return `{-webkit-mask-image:${u};mask-image:${u}}`;
  };
  // A resource type without an icon of its own shows "file" (first, so
  // that a .res-NAME rule after it wins); the TLS cell shows the lock.
  const rules = [`.flow-row .col-icon::before${mask("file")}`, `.flow-row .tls-on::before${mask("lock")}`];
  for (const n of Object.keys(iconShapes)) rules.push(`.ico-${n},.flow-row .res-${n}::before${mask(n)}`);
  return rules.join("\n");
}

/** Icon is an inline <svg> of the icon, coloured as its text. */
export function Icon(props: { name: string; title?: string; class?: string }): JSX.Element {
  const shapes = (iconShapes[props.name] ?? iconShapes.file).replaceAll("#000", "currentColor");
  const title = props.title ? `<title>${props.title.replace(/[<&]/g, (c) => (c === "<" ? "&lt;" : "&amp;"))}</title>` : "";
  return (
    <svg
      class={"icon " + (props.class ?? "")}
      viewBox="0 0 16 16"
      width="14"
      height="14"
      fill="currentColor"
      aria-hidden={props.title ? undefined : "true"}
      role={props.title ? "img" : undefined}
      dangerouslySetInnerHTML={{ __html: title + shapes }}
    />
  );
}
