// The colour theme: the web_theme option ("system", "dark", "light"); for
// "system" the browser's prefers-color-scheme decides.

export type ThemeSetting = "system" | "dark" | "light";

export function resolveTheme(setting: string, prefersDark: boolean): "dark" | "light" {
  if (setting === "dark" || setting === "light") return setting;
  return prefersDark ? "dark" : "light";
}

/** nextTheme is the setting after a click of the theme toggle. */
export function nextTheme(setting: string): ThemeSetting {
  switch (setting) {
    case "light":
      return "dark";
    case "dark":
      return "system";
    default:
      return "light";
  }
}
