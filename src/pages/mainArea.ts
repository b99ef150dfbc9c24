import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import type { LabIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';

/**
 * Show the page `id` of the main area: the open one if there is one (after
 * `onExisting`), otherwise the one `create` makes, tracked (so the layout
 * restorer brings it back on reload), added and activated.
 */
export async function showMainAreaPage<W extends Widget>(
  app: JupyterFrontEnd,
  tracker: WidgetTracker<W>,
  id: string,
  create: () => W | Promise<W>,
  onExisting?: (widget: W) => void
): Promise<W> {
  const existing = tracker.find(w => w.id === id && !w.isDisposed);
  if (existing) {
    onExisting?.(existing);
    app.shell.activateById(id);
    return existing;
  }
  const widget = await create();
  widget.id = id;
  void tracker.add(widget);
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
  return widget;
}

/**
 * A closable main-area page around `content`, titled with ModelVault's icon.
 */
export function mainAreaPage<T extends Widget>(
  content: T,
  label: string,
  icon: LabIcon
): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.title.label = label;
  widget.title.icon = icon;
  widget.title.closable = true;
  return widget;
}
