import type { SVGProps } from "react";

// A handful of 16px stroke icons, inline so no icon font or library ships.
const PATHS = {
  board: "M2.5 3.5h3v9h-3zM6.5 3.5h3v6h-3zM10.5 3.5h3v4h-3z",
  table: "M2.5 3.5h11v9h-11zM2.5 6.5h11M2.5 9.5h11M6 6.5v6",
  inbox: "M2.5 9.5l1.5-6h8l1.5 6v3h-11zM2.5 9.5h3.2l.8 1.5h3l.8-1.5h3.2",
  review: "M3 3.5h10v9H3zM5.5 8l1.8 1.8L10.8 6.3",
  stats: "M3 13V8.5M6.3 13V4.5M9.7 13V7M13 13V3",
  sun: "M8 5.2a2.8 2.8 0 100 5.6 2.8 2.8 0 000-5.6zM8 1.5v1.3M8 13.2v1.3M1.5 8h1.3M13.2 8h1.3M3.4 3.4l.9.9M11.7 11.7l.9.9M3.4 12.6l.9-.9M11.7 4.3l.9-.9",
  moon: "M13 9.6A5.5 5.5 0 016.4 3a5.5 5.5 0 106.6 6.6z",
  monitor: "M2 3.5h12v8H2zM6 14h4M8 11.5V14",
  globe: "M8 2a6 6 0 100 12A6 6 0 008 2zM2 8h12M8 2c1.7 1.8 2.5 3.8 2.5 6S9.7 12.2 8 14M8 2C6.3 3.8 5.5 5.8 5.5 8s.8 4.2 2.5 6",
  search: "M7 2.5a4.5 4.5 0 100 9 4.5 4.5 0 000-9zM10.3 10.3l3.2 3.2",
  plus: "M8 3v10M3 8h10",
  close: "M4 4l8 8M12 4l-8 8",
  chevronDown: "M4 6l4 4 4-4",
  chevronLeft: "M10 3.5L5.5 8l4.5 4.5",
  check: "M3.5 8.5l3 3 6-7",
  merge: "M4.5 2.5v11M4.5 6c0 3 7 2 7 6v1.5M11.5 2.5v4",
  trash: "M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.6 9h5.8l.6-9",
  keyboard: "M1.5 4.5h13v7h-13zM4 7h.5M6.5 7H7M9 7h.5M11.5 7h.5M4.5 9.5h7",
  message: "M2.5 3.5h11v7.5h-6.5l-3 2.5v-2.5h-1.5z",
  link: "M6.8 9.2a2.5 2.5 0 003.5 0l2-2a2.5 2.5 0 00-3.5-3.5l-.6.6M9.2 6.8a2.5 2.5 0 00-3.5 0l-2 2a2.5 2.5 0 003.5 3.5l.6-.6",
  filter: "M2.5 4h11M4.5 8h7M6.5 12h3",
  noise: "M3.5 3.5l9 9M8 2a6 6 0 100 12A6 6 0 008 2z",
  send: "M2.5 8l11-5-4.5 11-1.8-4.2z",
  refresh: "M13 3.5v3h-3M3 12.5v-3h3M12.6 6.5A5 5 0 003.8 5M3.4 9.5a5 5 0 008.8 1.5",
  clock: "M8 2a6 6 0 100 12A6 6 0 008 2zM8 4.5V8l2.5 1.5",
  user: "M8 2.5a2.8 2.8 0 100 5.6 2.8 2.8 0 000-5.6zM2.8 13.5c.8-2.4 2.9-3.6 5.2-3.6s4.4 1.2 5.2 3.6",
  shield: "M8 1.8l5 2v4c0 3-2.1 5.2-5 6.4-2.9-1.2-5-3.4-5-6.4v-4z",
  logout: "M6.5 13.5h-3v-11h3M10.5 11l3-3-3-3M13.5 8h-7",
  key: "M10.5 2.5a3 3 0 100 6 3 3 0 000-6zM8.4 7.6L2.5 13.5M4.5 11.5l1.5 1.5M6 10l1.2 1.2",
  copy: "M5.5 5.5h8v8h-8zM10.5 5.5v-3h-8v8h3",
  external: "M9 2.5h4.5V7M13.5 2.5L7.5 8.5M11.5 9.5v4h-9v-9h4",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 16, ...rest }: { name: IconName; size?: number } & SVGProps<SVGSVGElement>) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.5}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
      {...rest}
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
