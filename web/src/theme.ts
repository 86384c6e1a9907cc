// Dark and light: the system's preference (prefers-color-scheme) unless the user picked one with the toggle.
import { Store } from "./store";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "botfleet.theme";
const media = matchMedia("(prefers-color-scheme: dark)");

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

export const themeChoice = new Store<ThemeChoice>(stored());
export const effectiveTheme = new Store<"light" | "dark">(resolve(themeChoice.value));

function resolve(choice: ThemeChoice): "light" | "dark" {
  return choice === "system" ? (media.matches ? "dark" : "light") : choice;
}

function apply(): void {
  const choice = themeChoice.value;
  if (choice === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  effectiveTheme.set(resolve(choice));
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // private mode: the choice lasts for this page
  }
  themeChoice.set(choice);
  apply();
}

/** The toggle flips to the opposite of what is showing now. */
export function toggleTheme(): void {
  setTheme(effectiveTheme.value === "dark" ? "light" : "dark");
}

media.addEventListener("change", apply);
apply();

/** A CSS custom property's value (for the charts, which draw on a canvas). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
