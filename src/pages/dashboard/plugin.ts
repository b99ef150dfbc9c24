import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { vaultIcon } from '../../icons';
import { mainAreaPage, showMainAreaPage } from '../mainArea';
import type { DashboardPanel } from './DashboardPanel';

/**
 * The command that opens (or shows) the vault dashboard.
 */
export const OPEN_DASHBOARD = 'modelvault:open-dashboard';

/**
 * The vault dashboard in the main area: a palette command, an item of the
 * "ModelVault" main menu (declared in `schema/dashboard.json`), restored on
 * reload by the layout restorer.
 */
export const dashboardPlugin: JupyterFrontEndPlugin<void> = {
  id: 'modelvault-jlab:dashboard',
  description:
    'The ModelVault dashboard: holdings, verdicts, licences, caches and policy over time.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, IThemeManager, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    themes: IThemeManager | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('modelvault_jlab');
    const tracker = new WidgetTracker<MainAreaWidget<DashboardPanel>>({
      namespace: 'modelvault-dashboard'
    });

    app.commands.addCommand(OPEN_DASHBOARD, {
      label: trans.__('ModelVault Dashboard'),
      caption: trans.__(
        'Bytes, verdicts, licences, cache hit ratio and policy events per repository'
      ),
      icon: args => (args['isPalette'] ? undefined : vaultIcon),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () =>
        showMainAreaPage(app, tracker, 'modelvault-dashboard', async () => {
          const { DashboardPanel } = await import('./DashboardPanel');
          const content = new DashboardPanel({
            serverSettings: app.serviceManager.serverSettings,
            rendermime,
            trans
          });
          return mainAreaPage(
            content,
            trans.__('ModelVault Dashboard'),
            vaultIcon
          );
        })
    });
    palette?.addItem({
      command: OPEN_DASHBOARD,
      category: trans.__('ModelVault')
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: OPEN_DASHBOARD,
        name: () => 'dashboard'
      });
    }
    themes?.themeChanged.connect(() => {
      tracker.forEach(widget => widget.content.redraw());
    });
  }
};
