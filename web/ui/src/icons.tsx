// Small inline SVG icons (no icon font: the page loads nothing at run time).
import type { JSX } from "preact";

const paths: Record<string, JSX.Element> = {
  lock: (
    <>
      <rect x="4" y="7" width="8" height="7" rx="1" />
      <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" fill="none" stroke="currentColor" stroke-width="1.5" />
    </>
  ),
  file: <path d="M4 1.5h5l3 3v10H4z" fill="none" stroke="currentColor" stroke-width="1.3" />,
  html: <path d="M5.5 4 2 8l3.5 4M10.5 4 14 8l-3.5 4" fill="none" stroke="currentColor" stroke-width="1.6" />,
  js: (
    <path
      d="M6 2.5C4.5 2.5 4.5 3.5 4.5 5s-1 2.5-2 3c1 .5 2 1.5 2 3s0 2.5 1.5 2.5M10 2.5c1.5 0 1.5 1 1.5 2.5s1 2.5 2 3c-1 .5-2 1.5-2 3s0 2.5-1.5 2.5"
      fill="none"
      stroke="currentColor"
      stroke-width="1.3"
    />
  ),
  css: (
    <>
      <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.3" />
      <circle cx="6" cy="6" r="1.2" />
      <circle cx="10" cy="6" r="1.2" />
      <circle cx="6.5" cy="10.2" r="1.2" />
    </>
  ),
  image: (
    <>
      <rect x="2" y="3" width="12" height="10" rx="1" fill="none" stroke="currentColor" stroke-width="1.3" />
      <path d="m3 12 3.5-4 2.5 3 2-2 2 3z" />
    </>
  ),
  "not-modified": <path d="M3 8.5 6.5 12 13 4.5" fill="none" stroke="currentColor" stroke-width="1.8" />,
  redirect: <path d="M2 12V9a4 4 0 0 1 4-4h7M10 2l3 3-3 3" fill="none" stroke="currentColor" stroke-width="1.6" />,
  websocket: <path d="M2 5h11M10 2l3 3-3 3M14 11H3M6 8l-3 3 3 3" fill="none" stroke="currentColor" stroke-width="1.5" />,
  tcp: <path d="M2 8h3M11 8h3M5 5h6v6H5z" fill="none" stroke="currentColor" stroke-width="1.5" />,
  udp: <path d="m2 8 12-6-4 12-2-5z" fill="none" stroke="currentColor" stroke-width="1.4" />,
  dns: (
    <>
      <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.3" />
      <path d="M2 8h12M8 2c-2.5 3-2.5 9 0 12M8 2c2.5 3 2.5 9 0 12" fill="none" stroke="currentColor" stroke-width="1.1" />
    </>
  ),
  quic: <path d="M9 1 3 9h4l-1 6 6-8H8z" />,
  pause: (
    <>
      <rect x="4" y="3" width="3" height="10" />
      <rect x="9" y="3" width="3" height="10" />
    </>
  ),
  play: <path d="M4 2.5v11l9-5.5z" />,
  replay: <path d="M3 8a5 5 0 1 0 1.5-3.5M3 2v3h3" fill="none" stroke="currentColor" stroke-width="1.6" />,
  warning: (
    <>
      <path d="M8 1.5 15 14H1z" />
      <path d="M8 6v4M8 11.5v1" stroke="var(--bg, #fff)" stroke-width="1.5" />
    </>
  ),
  close: <path d="m3.5 3.5 9 9m0-9-9 9" fill="none" stroke="currentColor" stroke-width="1.8" />,
  sun: (
    <>
      <circle cx="8" cy="8" r="3" />
      <path
        d="M8 1v2M8 13v2M1 8h2M13 8h2M3 3l1.4 1.4M11.6 11.6 13 13M3 13l1.4-1.4M11.6 4.4 13 3"
        stroke="currentColor"
        stroke-width="1.3"
      />
    </>
  ),
  moon: <path d="M11 11.5A5.5 5.5 0 0 1 6.5 2 6 6 0 1 0 14 9.5a5.5 5.5 0 0 1-3 2z" />,
  auto: (
    <>
      <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.3" />
      <path d="M8 2a6 6 0 0 1 0 12z" />
    </>
  ),
  help: (
    <>
      <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.3" />
      <path d="M6 6.2a2 2 0 1 1 2.8 1.8c-.6.3-.8.7-.8 1.3V10" fill="none" stroke="currentColor" stroke-width="1.3" />
      <circle cx="8" cy="12" r=".9" />
    </>
  ),
};

export function Icon(props: { name: string; title?: string; class?: string }) {
  return (
    <svg
      class={"icon " + (props.class ?? "")}
      viewBox="0 0 16 16"
      width="14"
      height="14"
      fill="currentColor"
      aria-hidden={props.title ? undefined : "true"}
      role={props.title ? "img" : undefined}
    >
      {props.title && <title>{props.title}</title>}
      {paths[props.name] ?? paths.file}
    </svg>
  );
}
