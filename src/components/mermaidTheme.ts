import * as React from 'react';

/**
 * Mermaid theme variables and the JupyterLab CSS variables they follow: nodes
 * a shade off the graph's background with the brand colour as border, text
 * and edges in the UI font colours, so both stay readable in light and dark.
 */
const THEME_VARIABLES: ReadonlyArray<[string, string]> = [
  ['background', '--jp-layout-color1'],
  ['primaryColor', '--jp-layout-color2'],
  ['mainBkg', '--jp-layout-color2'],
  ['primaryBorderColor', '--jp-brand-color1'],
  ['nodeBorder', '--jp-brand-color1'],
  ['primaryTextColor', '--jp-ui-font-color1'],
  ['nodeTextColor', '--jp-ui-font-color1'],
  ['textColor', '--jp-ui-font-color1'],
  ['titleColor', '--jp-ui-font-color1'],
  ['lineColor', '--jp-ui-font-color2'],
  ['edgeLabelBackground', '--jp-layout-color1'],
  ['secondaryColor', '--jp-layout-color3'],
  ['tertiaryColor', '--jp-layout-color1'],
  ['clusterBkg', '--jp-layout-color1'],
  ['clusterBorder', '--jp-border-color1']
];

/**
 * The value of a CSS colour variable as `rgb(…)`/`rgba(…)`: the form
 * Mermaid's directive sanitiser accepts and its colour maths parses,
 * whatever the theme wrote (`var(--md-grey-900)`, `white`, `#fff`).
 */
function resolvedColour(probe: HTMLElement, variable: string): string {
  probe.style.color = `var(${variable})`;
  return getComputedStyle(probe).color;
}

/**
 * A Mermaid definition drawn in the current JupyterLab theme: an `init`
 * directive with Mermaid's `base` theme and colours read from the theme's
 * CSS variables (JupyterLab's renderer only knows "default" or "dark", which
 * leaves Mermaid's own purple nodes on a dark page). Rendered as an image, the
 * graph cannot follow CSS: re-render on a theme change (`useJupyterTheme`).
 */
export function themedMermaid(definition: string): string {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  document.body.appendChild(probe);
  const themeVariables: Record<string, string | boolean> = {
    darkMode: document.body.dataset.jpThemeLight === 'false'
  };
  try {
    for (const [name, variable] of THEME_VARIABLES) {
      const colour = resolvedColour(probe, variable);
      if (colour) {
        themeVariables[name] = colour;
      }
    }
  } finally {
    probe.remove();
  }
  const init = JSON.stringify({ theme: 'base', themeVariables });
  return `%%{init: ${init}}%%\n${definition}`;
}

/**
 * The current JupyterLab theme (`name:light`), updated when the theme manager
 * switches theme: it writes `data-jp-theme-*` on the body once the new
 * theme's CSS is in force, so colours read then are the new ones.
 */
export function useJupyterTheme(): string {
  const read = () =>
    `${document.body.dataset.jpThemeName ?? ''}:${document.body.dataset.jpThemeLight ?? ''}`;
  const [theme, setTheme] = React.useState(read);
  React.useEffect(() => {
    const observer = new MutationObserver(() => setTheme(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return theme;
}
