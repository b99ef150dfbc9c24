import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

/**
 * Properties of `MimeView`.
 */
export interface IMimeViewProps {
  rendermime: IRenderMimeRegistry;
  mimeType: string;
  /**
   * The source (Markdown, a Mermaid definition, …). Untrusted: rendered
   * sanitised, with no script.
   */
  source: string;
  className?: string;
  /**
   * Called once the renderer has finished (or failed).
   */
  onRendered?: (host: HTMLElement) => void;
}

/**
 * A JupyterLab mime renderer inside React: the same renderers (and sanitiser)
 * notebooks use for Markdown and Mermaid.
 */
export function MimeView(props: IMimeViewProps): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const { rendermime, mimeType, source, onRendered } = props;
  React.useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const renderer = rendermime.createRenderer(mimeType);
    const model = rendermime.createModel({
      data: { [mimeType]: source },
      trusted: false
    });
    let disposed = false;
    Widget.attach(renderer, node);
    renderer
      .renderModel(model)
      .catch(reason => console.error(`Rendering ${mimeType} failed`, reason))
      .then(() => {
        if (!disposed) {
          onRendered?.(node);
        }
      });
    return () => {
      disposed = true;
      renderer.dispose();
    };
  }, [rendermime, mimeType, source]);
  return <div ref={host} className={props.className} />;
}
